// `btfwatch serve` (embedded) scanning a mirror served by `python3 -m http.server` (HTTP/1.0, a connection
// closed after every response): scans and ingests of real kernel packages complete and the process
// survives them (with undici 7 it exited in most runs: `assert(!this.paused)`, undici#5360). Trust
// changes through PATCH are in the service's log.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCliService, type ServiceProcess } from '../../support/cli.ts';
import { RELEASES, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import {
  buildDeb,
  startMirror,
  servePython,
  type MirrorHandle,
  type PythonServer,
} from '../../support/mirror-server/index.ts';
import { tempDir } from '../../support/services.ts';

const ADMIN = 'serve-http10-admin-token-0123';
const work = tempDir('bw-serve-http10-');
let mirror: MirrorHandle;
let python: PythonServer;
let svc: ServiceProcess;

before(async () => {
  const a = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.190-1' }, join(work.path, 'a'));
  const b = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, join(work.path, 'b'));
  // Out-of-tree module packages with tens of MB of firmware beside their module: big enough that reading
  // them falls behind the loopback network, so the client pauses the connection python then closes.
  const big = [];
  for (const [rel, n] of [
    [RELEASES.bookworm55, 1],
    [RELEASES.bookworm56, 2],
  ] as const) {
    big.push(
      await buildDeb(
        {
          name: `acme${n}-modules-${rel}`,
          version: '1.0-1',
          depends: `linux-image-${rel}-unsigned`,
          files: {
            [`lib/modules/${rel}/updates/dkms/dummy.ko`]: moduleElf(rel, 'dummy.ko'),
            [`usr/lib/firmware/acme${n}.bin`]: randomBytes(24 << 20),
          },
        },
        join(work.path, 'big'),
      ),
    );
  }
  mirror = await startMirror({
    apt: {
      suites: {
        'bookworm-security': { packages: [a.image, a.headers, big[0]!] },
        'bookworm-proposed-updates': { packages: [b.image, b.headers, big[1]!] },
      },
    },
  });
  python = await servePython(mirror.root);
  svc = await startCliService('serve', {
    DATA_DIR: join(work.path, 'data'),
    DATABASE_URL: '',
    REDIS_URL: '',
    BTFWATCH_ADMIN_TOKEN: ADMIN,
    BTFWATCH_SCAN_INTERVAL: '0',
  });
});

after(async () => {
  if (svc && svc.child.exitCode === null) await svc.stop();
  await python?.close();
  await mirror?.close();
  work.remove();
});

// Answers as the API documents them; the assertions say what they expect of them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, json?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${svc.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Waits until the scan job and every job it led to are done; fails at once if serve died. */
async function settle(jobId: string): Promise<Json> {
  for (let i = 0; i < 1200; i++) {
    assert.equal(svc.child.exitCode, null, `serve died:\n${svc.logs.slice(-30).join('\n')}`);
    const job = (await call('GET', `/v1/jobs/${jobId}`)).body;
    const active = (await call('GET', '/v1/jobs?state=active&limit=10')).body;
    const waiting = (await call('GET', '/v1/jobs?state=waiting&limit=10')).body;
    if (
      (job.state === 'completed' || job.state === 'failed') &&
      !active.items.length &&
      !waiting.items.length
    )
      return job;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail('jobs did not settle');
}

test(
  'serve survives scans and ingests from an HTTP/1.0 mirror that closes every connection',
  { timeout: 600_000 },
  async () => {
    const created = await call('POST', '/v1/mirrors', {
      kind: 'apt',
      url: `${python.url}/debian`,
      suites: ['bookworm-security', 'bookworm-proposed-updates'],
      keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as number;
    for (let round = 0; round < 3; round++) {
      const scan = await call('POST', `/v1/mirrors/${id}/scan`);
      assert.equal(scan.status, 202);
      const job = await settle(scan.body.jobId);
      assert.equal(job.state, 'completed', job.error);
      if (round === 0) assert.equal(job.result.packagesFound, 6);
    }
    assert.ok(python.log.filter((l) => l.includes('/pool/')).length >= 6, 'the packages came from python');
    const kernels = (await call('GET', '/v1/kernels')).body.items as Array<{
      release: string;
      baseBtfSha256: string;
    }>;
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    assert.deepEqual(kernels.map((k) => [k.release, k.baseBtfSha256]).sort(), [
      [RELEASES.bookworm55, sha(vmlinuxBtf(RELEASES.bookworm55))],
      [RELEASES.bookworm56, sha(vmlinuxBtf(RELEASES.bookworm56))],
    ]);

    // A trust change is explicit and in the log with what it was and is (the log is flushed on stop).
    const patched = await call('PATCH', `/v1/mirrors/${id}`, { allowExpired: true });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.allowExpired, true);
    assert.equal(svc.child.exitCode, null);
    assert.equal(await svc.stop(), 0);
    const entries = svc.logs
      .flatMap((l) => l.split('\n'))
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; changes?: unknown; mirror?: number };
        } catch {
          return {};
        }
      });
    const line = entries.find((e) => e.msg === 'mirror trust settings changed');
    assert.deepEqual(line?.changes, { allowExpired: { from: false, to: true } });
    assert.equal(line?.mirror, id);
  },
);
