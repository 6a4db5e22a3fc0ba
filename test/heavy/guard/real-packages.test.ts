import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardReport } from '@btfwatch/cli/guard';
import { runCli } from '../../support/cli.ts';
import {
  IMAGE_PACKAGE,
  K_RELEASE,
  K_VERSION,
  U_VERSION,
  bootedArgs,
  buildRealUpload,
  installedVersion,
  makeAptRoot,
  pinnedPackage,
  writeGuardHost,
  type GuardHost,
} from '../../support/guard.ts';
import { tempDir } from '../../support/services.ts';

// The whole real packages: K = linux-image-6.1.0-56-amd64(-unsigned) 6.1.192-2 is the booted kernel (its
// real BTF and config stand in for the host) and its own package; U is every file of the real 6.1.0-55
// package under K's release string and package name, version 6.1.192-2+guard1.
const work = tempDir('btfwatch-guard-real-');
let host: GuardHost;
let k: string;
let u: string;
let other: string;

before(() => {
  host = writeGuardHost(join(work.path, 'host'));
  k = pinnedPackage('linux-image-6.1.0-56-amd64-unsigned');
  other = pinnedPackage('linux-image-6.1.0-55-amd64-unsigned');
  u = buildRealUpload(other);
});
after(() => work.remove());

function guard(args: string[]): { status: number | null; report: GuardReport } {
  const res = runCli(['guard', '--json', ...args]);
  assert.ok(res.status === 0 || res.status === 1, res.stderr);
  return { status: res.status, report: JSON.parse(res.stdout) as GuardReport };
}

const counts = (r: GuardReport) => {
  const c = new Map<string, number>();
  for (const v of r.verdicts) c.set(`${v.btf}/${v.load}`, (c.get(`${v.btf}/${v.load}`) ?? 0) + 1);
  return Object.fromEntries([...c].sort());
};

test('U with MODULE_ALLOW_BTF_MISMATCH unset: refused — 4021 modules fail to load, 2 would read corrupt BTF', () => {
  const { status, report } = guard([...bootedArgs(host, host.strictConfig), u]);
  assert.equal(status, 1);
  assert.equal(report.decision.action, 'refuse');
  assert.deepEqual(counts(report), { 'corrupt/unknown': 2, 'rejected/fails': 4021 });
  assert.deepEqual(report.decision.counts, { breaks: 4023, 'loses-btf': 0, unjudged: 0, ok: 0 });
  const vfat = report.verdicts.find((v) => v.module === 'vfat')!;
  assert.equal(vfat.path, `/lib/modules/${K_RELEASE}/kernel/fs/fat/vfat.ko`);
  assert.equal(vfat.log.at(-1), 'failed to validate module [vfat] BTF: -22');
  assert.match(
    report.packages[0]!.buildBase!,
    /^the vmlinuz linux-image-6\.1\.0-56-amd64-unsigned 6\.1\.192-2\+guard1 ships/,
  );
});

test("U on K's own config (MODULE_ALLOW_BTF_MISMATCH=y): 4021 only lose their BTF, but the 2 corrupt ones still refuse it", () => {
  const { status, report } = guard([...bootedArgs(host), u]);
  assert.equal(status, 1);
  // Offline the CRCs are not known, so whether they load at all is `unknown`; their BTF is lost either way.
  assert.deepEqual(counts(report), { 'corrupt/unknown': 2, 'rejected/unknown': 4021 });
  assert.deepEqual(report.decision.counts, { breaks: 2, 'loses-btf': 4021, unjudged: 0, ok: 0 });
  const corrupt = report.verdicts
    .filter((v) => v.btf === 'corrupt')
    .map((v) => v.module)
    .sort();
  assert.deepEqual(corrupt, ['bcm_phy_lib', 'classmate_laptop']);
  // Without those two it is a warning: the policy that only reports says so.
  assert.equal(guard([...bootedArgs(host), '--policy', 'report', u]).report.decision.action, 'warn');
});

test("K's own package passes (4023 identical); 6.1.0-55's own package installs nothing for 6.1.0-56", () => {
  const { status, report } = guard([...bootedArgs(host, host.strictConfig), k, other]);
  assert.equal(status, 0);
  assert.equal(report.decision.action, 'pass');
  assert.deepEqual(counts(report), { 'identical/unknown': 4023 });
  assert.deepEqual(
    report.packages.map((p) => [p.version, p.status, p.note]),
    [
      [K_VERSION, 'judged', `installs 4023 modules for ${K_RELEASE}`],
      ['6.1.192-1', 'skipped', `installs no modules for ${K_RELEASE}`],
    ],
  );
});

test('a real apt-get install of the whole U stops before dpkg unpacks a file', () => {
  const root = join(work.path, 'apt-root');
  const { aptConfig, statusFile } = makeAptRoot(root);
  const install = runCli([
    'guard',
    '--install',
    'apt',
    '--root',
    root,
    ...bootedArgs(host, host.strictConfig),
  ]);
  assert.equal(install.status, 0, install.stderr);
  const apt = spawnSync('apt-get', ['-y', 'install', u], {
    env: { ...process.env, APT_CONFIG: aptConfig, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(apt.status, 100, apt.stdout + apt.stderr);
  assert.match(
    apt.stdout,
    new RegExp(
      `^${IMAGE_PACKAGE} ${K_VERSION} → ${U_VERSION.replace('+', '\\+')}: installs 4023 modules`,
      'm',
    ),
  );
  assert.match(apt.stdout, /^REFUSED: 4023 modules would fail to load or load wrong BTF/m);
  assert.match(apt.stderr, /E: Failure running script .*apt-guard/);
  assert.equal(installedVersion(statusFile, IMAGE_PACKAGE), K_VERSION);
  assert.ok(!existsSync(join(root, 'lib/modules')));
});
