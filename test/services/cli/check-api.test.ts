import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync } from '../../support/cli.ts';
import { RELEASES, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';
import { sha256 } from '../../support/hash.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { addAptMirror, requestScan, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';
import { cachedKernelDebs } from '../../support/api/scanned-service.ts';

// `btfwatch check --api` on a host booted on 6.1.0-56, against a service that gates reads with a token.
const READ_TOKEN = 'fleet-reader-token-0123456789';
const work = tempDir('btfwatch-check-api-');
const v56 = join(work.path, 'v56.btf');
const v55 = join(work.path, 'v55.btf');
let mirror: MirrorHandle;
let svc: TestService;
let url: string;

before(async () => {
  writeFileSync(v56, vmlinuxBtf(RELEASES.bookworm56));
  writeFileSync(v55, vmlinuxBtf(RELEASES.bookworm55));
  const b56 = await cachedKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' });
  mirror = await startMirror({
    apt: { suites: { 'bookworm-security': { packages: [b56.image, b56.headers] } } },
  });
  svc = await startTestService('distributed', { env: { BTFWATCH_READ_TOKEN: READ_TOKEN } });
  await requestScan(svc.app, await addAptMirror(svc.app, mirror));
  await svc.drain();
  url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

const withToken = { BTFWATCH_TOKEN: READ_TOKEN };

async function compatRequests(): Promise<number> {
  const metrics = await svc.app.inject({ url: '/metrics' });
  const m = /btfwatch_http_requests_total\{method="GET",route="\/v1\/compat",status="200"\} (\d+)/.exec(
    metrics.body,
  );
  return m ? Number(m[1]) : 0;
}

test('--package pages through every verdict of the package (3 pages of 5)', async () => {
  const before = await compatRequests();
  const res = await runCliAsync(
    ['check', '--api', url, '--btf', v56, '--package', 'linux-image-6.1.0-56-amd64-unsigned', '--json'],
    { ...withToken, BTFWATCH_PAGE_SIZE: '5' },
  );
  assert.equal(res.status, 0, res.stderr);
  const results = JSON.parse(res.stdout) as Array<{ file: string; verdict: string }>;
  assert.equal(results.length, 12);
  assert.equal(new Set(results.map((r) => r.file)).size, 12);
  assert.ok(results.every((r) => r.verdict === 'identical'));
  assert.equal((await compatRequests()) - before, 3, 'three pages asked');
});

test('a read-token-gated service: without BTFWATCH_TOKEN, or with a wrong one, a clear message and exit 2', async () => {
  const none = await runCliAsync(['check', '--api', url, '--btf', v56, '--package', 'x'], {
    BTFWATCH_TOKEN: '',
  });
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /needs a token for reads \(HTTP 401\): set BTFWATCH_TOKEN/);
  const wrong = await runCliAsync(['check', '--api', url, '--btf', v56, '--package', 'x'], {
    BTFWATCH_TOKEN: 'not-the-token-0123456789',
  });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /refused BTFWATCH_TOKEN/);
});

test('a kernel the service does not know: the message names the BTF hash and what to do', async () => {
  const res = await runCliAsync(['check', '--api', url, '--btf', v55], withToken);
  assert.equal(res.status, 2, res.stderr);
  const sha = sha256(vmlinuxBtf(RELEASES.bookworm55));
  assert.ok(res.stderr.includes(`no kernel build with base BTF ${sha}`), res.stderr);
  assert.match(res.stderr, /add and scan a mirror that carries this kernel's image package/);
  assert.match(res.stderr, /btfwatch check --kernel /);
  assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
});

test('an unreadable or refused module file is an error line; the others are still checked; exit 1', async () => {
  const dir = join(work.path, 'lib-modules');
  mkdirSync(join(dir, 'updates', 'dkms'), { recursive: true });
  // Built for 6.1.0-55, installed on 56: rejected.
  writeFileSync(join(dir, 'updates', 'overlay.ko'), moduleElf(RELEASES.bookworm55, 'overlay.ko'));
  // A package removed, its symlink left behind.
  symlinkSync(join(dir, 'nowhere', 'gone.ko'), join(dir, 'updates', 'gone.ko'));
  // Not a module at all.
  writeFileSync(join(dir, 'updates', 'dkms', 'notes.ko'), 'this is not an ELF file\n');
  // 56's own dummy.ko: its .BTF is that of a module build the service knows, so its build base is known.
  writeFileSync(join(dir, 'updates', 'dkms', 'dummy.ko'), moduleElf(RELEASES.bookworm56, 'dummy.ko'));

  const res = await runCliAsync(
    ['check', '--api', url, '--btf', v56, '--modules-dir', dir, '--json'],
    withToken,
  );
  assert.equal(res.status, 1, res.stderr);
  const results = JSON.parse(res.stdout) as Array<{ module: string; verdict: string }>;
  assert.deepEqual(results.map((r) => `${r.module} ${r.verdict}`).sort(), [
    'dummy identical',
    'overlay rejected',
  ]);
  assert.match(res.stderr, /gone\.ko: error: cannot read: ENOENT/);
  assert.match(res.stderr, /notes\.ko: error: \/v1\/compat\/check: HTTP 400: not a kernel module/);
  assert.match(res.stderr, /2 of 4 module files could not be checked/);

  // Only good verdicts, but one file could not be checked: still non-zero.
  const res2 = await runCliAsync(
    [
      'check',
      '--api',
      url,
      '--btf',
      v56,
      join(dir, 'updates', 'dkms', 'dummy.ko'),
      join(dir, 'updates', 'gone.ko'),
    ],
    withToken,
  );
  assert.equal(res2.status, 1, res2.stderr);
  assert.match(res2.stdout, /dummy\.ko: identical/);
  assert.match(res2.stderr, /1 of 2 module files could not be checked/);
});
