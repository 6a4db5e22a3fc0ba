import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardReport } from '@btfwatch/cli/guard';
import { runCliAsync } from '../../support/cli.ts';
import { RELEASES, btfFixture } from '../../support/fixtures.ts';
import {
  IMAGE_PACKAGE,
  K_RELEASE,
  K_VERSION,
  U_VERSION,
  bootedArgs,
  writeGuardHost,
  type GuardHost,
} from '../../support/guard.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { addAptMirror, requestScan, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

// `guard --api URL`: a real service has scanned a mirror carrying K and U (its headers give it K's CRCs),
// so it knows what guard cannot offline: the ABI verdict, and U's own verdicts on K.
const work = tempDir('btfwatch-guard-api-');
let host: GuardHost;
let u: string;
let unseen: string;
let mirror: MirrorHandle;
let svc: TestService;
let url: string;

before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  const k = await buildKernelDebs({ from: RELEASES.bookworm56, version: K_VERSION }, join(work.path, 'k'));
  const built = await buildKernelDebs(
    { from: RELEASES.bookworm55, release: K_RELEASE, version: U_VERSION },
    join(work.path, 'u'),
  );
  u = built.image;
  // A later upload of the same kind that no mirror the service scans carries.
  unseen = (
    await buildKernelDebs(
      { from: RELEASES.bookworm55, release: K_RELEASE, version: '6.1.192-2+guard2' },
      join(work.path, 'unseen'),
    )
  ).image;
  mirror = await startMirror({
    apt: { suites: { 'bookworm-security': { packages: [k.image, k.headers, built.image, built.headers] } } },
  });
  svc = await startTestService('embedded');
  await requestScan(svc.app, await addAptMirror(svc.app, mirror));
  await svc.drain();
  url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await svc?.close();
  await mirror?.close();
  work.remove();
});

async function guard(
  args: string[],
): Promise<{ status: number | null; report: GuardReport; stderr: string }> {
  const res = await runCliAsync(['guard', '--json', ...args]);
  return { status: res.status, report: JSON.parse(res.stdout) as GuardReport, stderr: res.stderr };
}

test("a package the service knows: its verdicts on the booted kernel, with K's CRCs, and the link to them", async () => {
  const res = await guard(['--api', url, ...bootedArgs(host, host.strictConfig), u]);
  assert.equal(res.status, 1, res.stderr);
  const s = res.report.service!;
  assert.equal(s.problem, null);
  assert.deepEqual([s.kernel?.release, s.kernel?.version], [K_RELEASE, K_VERSION]);
  assert.deepEqual(
    s.packages.map((p) => [p.name, p.version, p.known, p.verdicts, p.uploaded]),
    [[IMAGE_PACKAGE, U_VERSION, true, 12, 0]],
  );
  // The service reads K's own config (MODULE_ALLOW_BTF_MISMATCH=y) and CRCs: rejected BTF, modules load,
  // ABI compatible; guard's stand-in config leaves the option unset, and the worse verdict counts.
  assert.ok(
    s.verdicts.every((v) => v.source === 'service' && v.btf === 'rejected' && v.load === 'loads-without-btf'),
  );
  assert.ok(
    s.verdicts.every((v) => v.abi === 'compatible'),
    JSON.stringify(s.verdicts.map((v) => v.abi)),
  );
  assert.deepEqual(
    new Set(s.verdicts.map((v) => v.path)),
    new Set(res.report.verdicts.map((v) => v.path)),
    'the service and guard speak of the same module files',
  );
  assert.equal(res.report.decision.action, 'refuse');
  const link = res.report.advice.find((a) => a.startsWith('details: '));
  assert.ok(link?.includes(`${url}/#/compat?kernel=${s.kernel!.id}&package=${IMAGE_PACKAGE}`), link);

  const relaxed = await guard(['--api', url, ...bootedArgs(host), u]);
  assert.deepEqual([relaxed.status, relaxed.report.decision.action], [0, 'warn']);
});

test('a package the service has not seen: a sample of its modules uploaded to POST /v1/compat/check', async () => {
  const res = await guard(['--api', url, ...bootedArgs(host), unseen]);
  assert.equal(res.status, 0, res.stderr);
  const [p] = res.report.service!.packages;
  assert.deepEqual([p!.known, p!.uploaded], [false, 3]);
  assert.equal(res.report.service!.verdicts.length, 3);
  assert.ok(res.report.service!.verdicts.every((v) => v.btf === 'rejected' && v.abi === 'compatible'));
});

test('a service that cannot answer is a finding, not a failure: the offline verdicts still decide', async () => {
  const down = await guard(['--api', 'http://127.0.0.1:9', ...bootedArgs(host, host.strictConfig), u]);
  assert.equal(down.status, 1);
  assert.match(down.report.service!.problem!, /cannot reach http:\/\/127\.0\.0\.1:9/);
  const otherBtf = join(work.path, 'other.btf');
  writeFileSync(otherBtf, btfFixture(`${RELEASES.trixie}/vmlinux.btf.xz`));
  const unknown = await guard([
    '--api',
    url,
    '--booted-btf',
    otherBtf,
    '--booted-release',
    K_RELEASE,
    '--booted-config',
    host.config,
    u,
  ]);
  assert.match(
    unknown.report.service!.problem!,
    /the service knows no kernel build with base BTF [0-9a-f]{64}/,
  );
});
