import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { basePairs, kernelBuilds, queryRows, selectModuleBuilds } from '@btfwatch/db';
import { createEvaluator } from '@btfwatch/evaluate';
import { eq, sql } from 'drizzle-orm';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { sha256 } from '../../support/hash.ts';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import {
  MODES,
  addAptMirror,
  requestScan,
  startTestService,
  type TestService,
} from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';
import { RELEASES, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';

const SUITE = 'bookworm-security';
const OOT_PACKAGE = 'dummy-modules-6.1.0-56-amd64';

async function addMirror(svc: TestService, mirror: MirrorHandle) {
  return { id: await addAptMirror(svc.app, mirror, [SUITE]) };
}

async function scan(svc: TestService, mirrorId: number) {
  const jobId = await requestScan(svc.app, mirrorId);
  await svc.drain();
  const job = await svc.app.inject({ url: `/v1/jobs/${jobId}` });
  assert.equal(job.json().state, 'completed', job.body);
  return job.json();
}

/**
 * 6.1.0-56's vmlinux BTF with one base string changed in place ("list_head" → "list_hexd"): the same
 * nr_types and str_len, so 56's modules pass the kernel's checks on it, but every type that reaches
 * struct list_head means something else — what a rebuild with a changed struct does silently.
 */
function equalCountsVariant(btf: Buffer): Buffer {
  const copy = Buffer.from(btf);
  const hdrLen = copy.readUInt32LE(4);
  const strOff = hdrLen + copy.readUInt32LE(16);
  const strLen = copy.readUInt32LE(20);
  const strings = copy.subarray(strOff, strOff + strLen);
  const at = strings.indexOf(Buffer.from('\0list_head\0'));
  assert.ok(at >= 0, 'the fixture has a list_head string');
  strings.write('list_hexd', at + 1, 'latin1');
  return copy;
}

type Item = { module: { name: string }; btf: string; abi: string; evidence: Record<string, unknown> };

let work: ReturnType<typeof tempDir>;
let b55: { image: string; headers: string };
let b56: { image: string; headers: string };
let variant: { image: string; headers: string };
let oot: string;

before(async () => {
  work = tempDir();
  b55 = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }, work.path);
  b56 = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
  // An upload of the same release and ABI (same symbol CRCs, same vermagic) whose vmlinux BTF differs at
  // equal counts.
  variant = await buildKernelDebs(
    {
      from: RELEASES.bookworm56,
      version: '6.1.192-3',
      btf: equalCountsVariant(vmlinuxBtf(RELEASES.bookworm56)),
    },
    work.path,
  );
  // A separate module package built for 6.1.192-2 (its dummy.ko carries 56's BTF).
  oot = await buildDeb(
    {
      name: OOT_PACKAGE,
      version: '1.0-1',
      section: 'misc',
      depends: `linux-image-${RELEASES.bookworm56}-unsigned (= 6.1.192-2)`,
      files: {
        [`lib/modules/${RELEASES.bookworm56}/updates/dkms/dummy.ko`]: moduleElf(
          RELEASES.bookworm56,
          'dummy.ko',
        ),
      },
    },
    work.path,
  );
});

after(() => work?.remove());

for (const mode of MODES) {
  test(
    `${mode}: scan a loopback mirror of real kernel builds as they arrive, ingest, evaluate, alert, query`,
    { timeout: 400_000 },
    async () => {
      const mirror = await startMirror({
        apt: { suites: { [SUITE]: { packages: [b56.image, b56.headers, variant.image, variant.headers] } } },
      });
      const svc = await startTestService(mode).catch(async (err: unknown) => {
        await mirror.close();
        throw err;
      });
      const get = async (url: string) => {
        const res = await svc.app.inject({ url });
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
        return res.json();
      };
      try {
        const { id: mirrorId } = await addMirror(svc, mirror);
        const first = await scan(svc, mirrorId);
        assert.equal(first.result.packagesFound, 4);

        let kernels = (await get('/v1/kernels')).items as Array<Record<string, unknown>>;
        assert.equal(kernels.length, 2);
        const k56 = kernels.find((k) => k.version === '6.1.192-2')!;
        const k56b = kernels.find((k) => k.version === '6.1.192-3')!;
        assert.equal(k56.release, RELEASES.bookworm56);
        assert.equal(k56b.release, RELEASES.bookworm56);
        assert.equal(k56.baseBtfSha256, sha256(vmlinuxBtf(RELEASES.bookworm56)));
        assert.equal(k56.nrTypes, 100751);
        assert.equal(k56.kernelVersion, '6.1.192');
        assert.deepEqual(k56.config, {
          DEBUG_INFO_BTF: true,
          DEBUG_INFO_BTF_MODULES: true,
          MODULE_ALLOW_BTF_MISMATCH: true,
          MODVERSIONS: true,
        });
        assert.ok((k56.exportedSymbols as number) > 20000);
        assert.notEqual(k56b.baseBtfSha256, k56.baseBtfSha256);
        assert.deepEqual([k56b.nrTypes, k56b.strLen], [k56.nrTypes, k56.strLen], 'equal counts');

        // The equal-counts upload: 56's modules pass its checks, but those reaching list_head would read
        // wrong types. Never compatible: corrupt, with the references that changed as evidence.
        const onVariant = (
          await get(
            `/v1/compat?kernel=${k56b.id}&package=linux-image-6.1.0-56-amd64-unsigned&version=6.1.192-2`,
          )
        ).items as Item[];
        assert.equal(onVariant.length, 12);
        const verdictOf = new Map(onVariant.map((v) => [v.module.name, v]));
        assert.equal(verdictOf.get('overlay')?.btf, 'corrupt');
        assert.equal(verdictOf.get('overlay')?.abi, 'compatible');
        assert.equal(verdictOf.get('nls_cp437')?.btf, 'equivalent', 'nothing it references changed');
        for (const v of onVariant) {
          const refs = v.evidence.references as { changedTypeCount: number; changedStringCount: number };
          const changed = refs.changedTypeCount + refs.changedStringCount;
          assert.equal(v.btf, changed > 0 ? 'corrupt' : 'equivalent', `${v.module.name}: ${changed} changed`);
        }
        assert.equal(onVariant.filter((v) => v.btf === 'corrupt').length, 10);
        // Each direction's diff was stored once, for any process evaluating the pair again.
        const pairs = await svc.database.db.select().from(basePairs);
        assert.deepEqual(
          pairs.map((p) => `${p.fromSha256}>${p.toSha256}`).sort(),
          [`${k56.baseBtfSha256}>${k56b.baseBtfSha256}`, `${k56b.baseBtfSha256}>${k56.baseBtfSha256}`].sort(),
        );
        assert.ok(pairs.every((p) => p.changedTypes > 0));

        // One alert for the one upload, in the direction that hurts: hosts still running 6.1.192-2 that
        // install 6.1.192-3 load its modules (the same release directory) until they reboot.
        const alerts = async () => (await get('/v1/alerts')).items as Array<Record<string, unknown>>;
        const causes = async () =>
          (await alerts()).map((a) => `${a.kernelId} ${a.cause} ${a.severity} ${a.affectedModules}`).sort();
        assert.deepEqual(await causes(), [`${k56.id} btf_break:upload-${k56b.id} critical 10`]);
        const [upgrade] = await alerts();
        assert.match(
          String(upgrade!.summary),
          /^Hosts still running 6\.1\.0-56-amd64 \(6\.1\.192-2\) that install the 6\.1\.192-3 upload of linux-image-6\.1\.0-56-amd64-unsigned load its modules until they reboot: 10 modules break there — 10 are read as wrong types without a warning \(corrupt\)\.$/,
        );
        assert.equal((upgrade!.details as Record<string, unknown>).uploadKernelBuildId, k56b.id);

        // Later, the older 6.1.0-55 build arrives.
        const firstPackages = [b56.image, b56.headers, variant.image, variant.headers];
        await mirror.update({
          apt: { suites: { [SUITE]: { packages: [b55.image, b55.headers, ...firstPackages] } } },
        });
        const second = await scan(svc, mirrorId);
        assert.equal(second.result.packagesFound, 6);
        assert.equal(second.result.ingestsQueued, 2);

        kernels = (await get('/v1/kernels')).items;
        assert.equal(kernels.length, 3);
        const k55 = kernels.find((k) => k.release === RELEASES.bookworm55)!;
        assert.equal(k55.nrTypes, 100800);

        // What a host gets from `sha256sum /sys/kernel/btf/vmlinux` finds its kernel.
        assert.equal((await get(`/v1/kernels/by-btf/${k55.baseBtfSha256}`)).items[0].id, k55.id);

        // Same build: identical.
        const same = (
          await get(
            `/v1/compat?kernel=${k56.id}&package=linux-image-6.1.0-56-amd64-unsigned&version=6.1.192-2`,
          )
        ).items as Array<{ btf: string; load: string }>;
        assert.equal(same.length, 12);
        assert.ok(same.every((v) => v.btf === 'identical' && v.load === 'loads-with-btf'));

        // The real cross-build pair: 55's modules on 56 are rejected with the kernel's log lines.
        const cross = (
          await get(
            `/v1/compat?kernel=${k56.baseBtfSha256}&package=linux-image-6.1.0-55-amd64-unsigned&module=overlay`,
          )
        ).items;
        assert.equal(cross.length, 1);
        const overlay = cross[0];
        assert.equal(overlay.btf, 'rejected');
        assert.equal(overlay.abi, 'compatible');
        assert.equal(overlay.load, 'loads-without-btf');
        // The lines dmesg shows for overlay on 6.1.0-56 (checked under QEMU by test/heavy/qemu/amd64-ground-truth.test.ts).
        assert.deepEqual(overlay.evidence.kernelLog.slice(-4), [
          'BPF:  ',
          'BPF: Invalid name',
          'BPF: ',
          'failed to validate module [overlay] BTF: -22',
        ]);

        // 56's modules on 55 (older, so computed on request): rejected, or corrupt where the kernel's checks pass.
        const back = (
          await get(
            `/v1/compat?kernel=${k55.id}&package=linux-image-6.1.0-56-amd64-unsigned&version=6.1.192-2`,
          )
        ).items as Item[];
        const byName = new Map(back.map((v) => [v.module.name, v.btf]));
        assert.equal(byName.get('nls_cp437'), 'corrupt');
        assert.equal(byName.get('overlay'), 'rejected');
        assert.ok(back.every((v) => v.btf === 'rejected' || v.btf === 'corrupt'));

        // A new release string raises nothing: 55's modules live under their own /lib/modules directory and
        // never meet 56's kernel.
        assert.deepEqual(await causes(), [`${k56.id} btf_break:upload-${k56b.id} critical 10`]);

        // Then a separate module package built for 6.1.192-2 arrives on its own.
        await mirror.update({
          apt: { suites: { [SUITE]: { packages: [b55.image, b55.headers, ...firstPackages, oot] } } },
        });
        const third = await scan(svc, mirrorId);
        assert.equal(third.result.ingestsQueued, 1);
        // Its build base: the kernel build its pinned dependency names, confirmed by validating against it.
        const ootOn56 = (await get(`/v1/compat?kernel=${k56.id}&package=${OOT_PACKAGE}`)).items as Item[];
        assert.equal(ootOn56.length, 1);
        assert.equal(ootOn56[0]!.btf, 'identical');
        assert.deepEqual(ootOn56[0]!.evidence.buildBase, {
          sha256: k56.baseBtfSha256,
          nrTypes: k56.nrTypes,
          strLen: k56.strLen,
          how: 'validated',
        });
        // Evaluated on every kernel build it matters to (same release) without being asked: on the
        // equal-counts upload it is corrupt. It was built for 6.1.192-2 and stays behind when hosts install
        // 6.1.192-3 and reboot: it joins that upload's alert, which is not raised a second time.
        const ootOnVariant = (await get(`/v1/compat?kernel=${k56b.id}&package=${OOT_PACKAGE}`))
          .items as Item[];
        assert.equal(ootOnVariant[0]!.btf, 'corrupt');
        assert.deepEqual(await causes(), [`${k56.id} btf_break:upload-${k56b.id} critical 11`]);
        const [joined] = await alerts();
        assert.equal(joined!.id, upgrade!.id);
        assert.match(
          String(joined!.summary),
          /1 out-of-tree module built for 6\.1\.192-2 breaks on 6\.1\.192-3: 1 is read as wrong types without a warning \(corrupt\)\.$/,
        );

        // Another evaluator (as in another worker process) reads the stored pair diff instead of computing it.
        const fresh = createEvaluator(svc.database);
        const [kernelRow] = await svc.database.db
          .select()
          .from(kernelBuilds)
          .where(eq(kernelBuilds.id, k56b.id as number));
        const own56 = await selectModuleBuilds(svc.database.db, { kernelBuildIds: [k56.id as number] });
        const again = await fresh.evaluate(await fresh.kernelContext(kernelRow!), own56);
        assert.equal(fresh.pairs.computed, 0);
        assert.deepEqual(
          again.map((v) => [v.module.name, v.row.btf]).sort(),
          onVariant.map((v) => [v.module.name, v.btf]).sort(),
        );

        const jobs = await svc.queue.list({ names: ['evaluate-kernel'], limit: 500 });
        assert.ok(jobs.length > 0);
        for (const j of jobs) assert.equal(j.state, 'completed', `${j.id}: ${j.error}`);

        // Scanning again changes nothing, queues no evaluation and raises nothing new.
        await scan(svc, mirrorId);
        assert.equal((await svc.queue.list({ names: ['evaluate-kernel'], limit: 500 })).length, jobs.length);
        assert.equal((await get('/v1/alerts')).items.length, 1);
        assert.equal((await get('/v1/kernels')).items.length, 3);
        const [count] = await queryRows<{ n: number }>(
          svc.database.db,
          sql`select count(*)::int as n from base_pairs`,
        );
        assert.equal(count?.n, 2, 'each pair diff is computed once');
      } finally {
        await svc.close();
        await mirror.close();
      }
    },
  );
}
