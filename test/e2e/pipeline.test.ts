import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildKernelDebs } from '../support/kernel-builds.ts';
import { sha256 } from '../support/hash.ts';
import { startMirror, type MirrorHandle } from '../support/mirror-server/index.ts';
import { MODES, authHeader, startTestService, type TestService } from '../support/service.ts';
import { tempDir } from '../support/services.ts';
import { RELEASES, vmlinuxBtf } from '../support/fixtures.ts';

async function addMirror(svc: TestService, mirror: MirrorHandle, suite = 'bookworm-security') {
  const res = await svc.app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: {
      kind: 'apt',
      url: mirror.aptUrl,
      suites: [suite],
      keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
    },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as { id: number };
}

async function scan(svc: TestService, mirrorId: number) {
  const res = await svc.app.inject({
    method: 'POST',
    url: `/v1/mirrors/${mirrorId}/scan`,
    headers: authHeader(),
  });
  assert.equal(res.statusCode, 202, res.body);
  await svc.drain();
  const job = await svc.app.inject({ url: `/v1/jobs/${res.json().jobId}` });
  assert.equal(job.json().state, 'completed', job.body);
  return job.json();
}

for (const mode of MODES) {
  test(
    `${mode}: scan a loopback mirror with two real kernel builds, ingest, evaluate, query`,
    { timeout: 300_000 },
    async () => {
      const work = tempDir();
      const b55 = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }, work.path);
      const b56 = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
      const mirror = await startMirror({
        apt: {
          suites: { 'bookworm-security': { packages: [b55.image, b55.headers, b56.image, b56.headers] } },
        },
      });
      const svc = await startTestService(mode).catch(async (err: unknown) => {
        await mirror.close();
        throw err;
      });
      try {
        const { id: mirrorId } = await addMirror(svc, mirror);
        const scanJob = await scan(svc, mirrorId);
        assert.equal(scanJob.result.packagesFound, 4);

        const kernels = (await svc.app.inject({ url: '/v1/kernels' })).json().items as Array<
          Record<string, unknown>
        >;
        assert.equal(kernels.length, 2);
        const k56 = kernels.find((k) => k.release === RELEASES.bookworm56)!;
        const k55 = kernels.find((k) => k.release === RELEASES.bookworm55)!;
        assert.equal(k56.baseBtfSha256, sha256(vmlinuxBtf(RELEASES.bookworm56)));
        assert.equal(k56.nrTypes, 100751);
        assert.equal(k55.nrTypes, 100800);
        assert.equal(k56.kernelVersion, '6.1.192');
        assert.deepEqual(k56.config, {
          DEBUG_INFO_BTF: true,
          DEBUG_INFO_BTF_MODULES: true,
          MODULE_ALLOW_BTF_MISMATCH: true,
          MODVERSIONS: true,
        });
        assert.ok((k56.exportedSymbols as number) > 20000);

        // What a host gets from `sha256sum /sys/kernel/btf/vmlinux` finds its kernel.
        const byBtf = await svc.app.inject({ url: `/v1/kernels/by-btf/${k55.baseBtfSha256}` });
        assert.equal(byBtf.json().items[0].id, k55.id);

        // Same build: identical.
        const same = (
          await svc.app.inject({
            url: `/v1/compat?kernel=${k56.id}&package=linux-image-6.1.0-56-amd64-unsigned`,
          })
        ).json();
        assert.equal(same.items.length, 12);
        assert.ok(
          same.items.every(
            (v: { btf: string; load: string }) => v.btf === 'identical' && v.load === 'loads-with-btf',
          ),
        );

        // The real cross-build pair: 55's modules on 56 are rejected with the kernel's log lines.
        const cross = (
          await svc.app.inject({
            url: `/v1/compat?kernel=${k56.baseBtfSha256}&package=linux-image-6.1.0-55-amd64-unsigned&module=overlay`,
          })
        ).json();
        assert.equal(cross.items.length, 1);
        const overlay = cross.items[0];
        assert.equal(overlay.btf, 'rejected');
        assert.equal(overlay.abi, 'compatible');
        assert.equal(overlay.load, 'loads-without-btf');
        assert.ok(
          overlay.evidence.kernelLog.includes('failed to validate module [overlay] BTF: -22'),
          overlay.evidence.kernelLog.join('\n'),
        );
        // The lines dmesg shows for overlay on 6.1.0-56 (checked under QEMU by test/kernel-ground-truth.test.ts).
        assert.deepEqual(overlay.evidence.kernelLog.slice(-4), [
          'BPF:  ',
          'BPF: Invalid name',
          'BPF: ',
          'failed to validate module [overlay] BTF: -22',
        ]);

        // 56's modules on 55 (older, so computed on request): rejected, or corrupt where the kernel's checks pass.
        const back = (
          await svc.app.inject({
            url: `/v1/compat?kernel=${k55.id}&package=linux-image-6.1.0-56-amd64-unsigned`,
          })
        ).json();
        const byName = new Map(
          back.items.map((v: { module: { name: string }; btf: string }) => [v.module.name, v.btf]),
        );
        assert.equal(byName.get('nls_cp437'), 'corrupt');
        assert.equal(byName.get('overlay'), 'rejected');
        assert.ok(back.items.every((v: { btf: string }) => v.btf === 'rejected' || v.btf === 'corrupt'));

        // The ABI-compatible upload 56 breaks 55's BTF: exactly one alert, for 56.
        const alerts = (await svc.app.inject({ url: '/v1/alerts' })).json().items;
        assert.equal(alerts.length, 1);
        assert.equal(alerts[0].kernelId, k56.id);
        assert.equal(alerts[0].affectedModules, 12);

        // Scanning again changes nothing and raises nothing new.
        await scan(svc, mirrorId);
        assert.equal((await svc.app.inject({ url: '/v1/alerts' })).json().items.length, 1);
        assert.equal((await svc.app.inject({ url: '/v1/kernels' })).json().items.length, 2);
      } finally {
        await svc.close();
        await mirror.close();
        work.remove();
      }
    },
  );
}
