import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuardReport } from '@btfwatch/cli/guard';
import { runCli } from '../../support/cli.ts';
import { RELEASES } from '../../support/fixtures.ts';
import {
  IMAGE_PACKAGE,
  K_RELEASE,
  U_VERSION,
  bootedArgs,
  buildGuardDebs,
  buildSplitDebs,
  writeGuardHost,
  type GuardHost,
} from '../../support/guard.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { tempDir } from '../../support/services.ts';

// `btfwatch guard PACKAGE...` on small real packages: the host K is 6.1.0-56-amd64 (its real BTF and
// config stand in for /sys/kernel/btf/vmlinux and /boot/config-*); U reuses K's release and package name
// with 6.1.0-55's files and a newer version.
const work = tempDir('btfwatch-guard-');
let host: GuardHost;
let k: string;
let u: string;

before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  ({ k, u } = await buildGuardDebs(work.path));
});
after(() => work.remove());

function guard(args: string[], env: Record<string, string> = {}) {
  const res = runCli(['guard', ...args], env);
  return { ...res, report: args.includes('--json') ? (JSON.parse(res.stdout) as GuardReport) : null };
}

test('U with MODULE_ALLOW_BTF_MISMATCH unset: refused (exit 1), every module fails to load, with the lines K logs', () => {
  const res = guard([...bootedArgs(host, host.strictConfig), '--json', u]);
  assert.equal(res.status, 1, res.stderr);
  const r = res.report!;
  assert.deepEqual([r.decision.action, r.decision.forced], ['refuse', false]);
  assert.equal(r.kernel.moduleAllowBtfMismatch, false);
  assert.equal(r.kernel.kernelVersion, '6.1.192');
  assert.equal(r.verdicts.length, 12);
  assert.deepEqual(
    new Set(r.verdicts.map((v) => `${v.btf}/${v.load}/${v.outcome}`)),
    new Set(['rejected/fails/breaks']),
  );
  const overlay = r.verdicts.find((v) => v.module === 'overlay')!;
  assert.equal(overlay.path, `/lib/modules/${K_RELEASE}/kernel/fs/overlayfs/overlay.ko`);
  assert.equal(overlay.log.at(-1), 'failed to validate module [overlay] BTF: -22');
  assert.equal(overlay.abi, 'unknown', "offline, K's CRCs are not known");
  const [pkg] = r.packages;
  assert.deepEqual(
    [pkg!.name, pkg!.version, pkg!.status, pkg!.modules],
    [IMAGE_PACKAGE, U_VERSION, 'judged', 12],
  );
  assert.match(
    pkg!.buildBase!,
    /^the vmlinuz linux-image-6\.1\.0-56-amd64-unsigned 6\.1\.192-2\+guard1 ships/,
  );
  assert.ok(
    r.advice.some((a) => a.includes(`apt-mark hold ${IMAGE_PACKAGE}`)),
    r.advice.join('\n'),
  );

  const text = guard([...bootedArgs(host, host.strictConfig), u]);
  assert.equal(text.status, 1);
  assert.match(text.stdout, /^REFUSED: 12 modules would fail to load/m);
  assert.match(
    text.stdout,
    /12 × rejected, fails, abi unknown: BTF rejected and CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set/,
  );
  assert.match(text.stdout, /\| failed to validate module \[\w+\] BTF: -22/);
  assert.match(text.stdout, /^What to do instead:$/m);
});

test("U on K's own config (MODULE_ALLOW_BTF_MISMATCH=y): a warning, exit 0; --policy strict refuses it", () => {
  const res = guard([...bootedArgs(host), '--json', u]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report!.decision.action, 'warn');
  assert.deepEqual(res.report!.decision.counts, { breaks: 0, 'loses-btf': 12, unjudged: 0, ok: 0 });
  // Rejected BTF that the option lets the module survive; whether it loads at all turns on its symbol
  // versions, which offline are not known.
  for (const v of res.report!.verdicts) {
    assert.deepEqual([v.btf, v.load, v.abi], ['rejected', 'unknown', 'unknown']);
    assert.match(
      v.loadReason,
      /^loads without BTF: the kernel rejects the BTF and CONFIG_MODULE_ALLOW_BTF_MISMATCH=y keeps the module, if its symbol versions match/,
    );
  }
  assert.equal(guard([...bootedArgs(host), '--policy', 'strict', u]).status, 1);
  assert.equal(guard([...bootedArgs(host), u], { BTFWATCH_GUARD_POLICY: 'strict' }).status, 1);
  assert.match(guard([...bootedArgs(host), u]).stdout, /^WARNING: 12 modules would lose their BTF/m);
});

test("K's own package passes: every module's BTF is identical", () => {
  const res = guard([...bootedArgs(host, host.strictConfig), '--json', k]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report!.decision.action, 'pass');
  assert.deepEqual(new Set(res.report!.verdicts.map((v) => v.btf)), new Set(['identical']));
  assert.match(
    guard([...bootedArgs(host), k]).stdout,
    /^OK: the 12 modules this installs for the running kernel 6\.1\.0-56-amd64 keep their BTF\.$/m,
  );
});

test('overrides: --policy report and --force say what would happen and exit 0; so does BTFWATCH_GUARD_FORCE', () => {
  const strict = bootedArgs(host, host.strictConfig);
  const report = guard([...strict, '--policy', 'report', '--json', u]);
  assert.deepEqual([report.status, report.report!.decision.action], [0, 'warn']);
  const forced = guard([...strict, '--force', '--json', u]);
  assert.deepEqual(
    [forced.status, forced.report!.decision.action, forced.report!.decision.forced],
    [0, 'refuse', true],
  );
  const env = guard([...strict, u], { BTFWATCH_GUARD_FORCE: '1' });
  assert.equal(env.status, 0);
  assert.match(env.stdout, /^FORCED: 12 modules would fail to load/m);
  const typo = guard([...strict, '--policy', 'lenient', u]);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /--policy "lenient": expected one of default, strict, report/);
});

test('what it cannot judge never blocks: no host BTF, an unreadable package, an unknown format, an unknown version', () => {
  const noBtf = guard([
    '--booted-btf',
    join(work.path, 'nope'),
    '--booted-release',
    K_RELEASE,
    '--booted-config',
    host.strictConfig,
    '--json',
    u,
  ]);
  assert.equal(noBtf.status, 0, noBtf.stderr);
  assert.equal(noBtf.report!.decision.action, 'unknown');
  assert.match(noBtf.report!.cannotJudge[0]!, /no BTF of the booted kernel: .*nope does not exist/);

  const truncated = join(work.path, 'truncated.deb');
  writeFileSync(truncated, readFileSync(u).subarray(0, 5000));
  const text = join(work.path, 'notes.deb');
  writeFileSync(text, 'not a package\n');
  const bad = guard([...bootedArgs(host, host.strictConfig), '--json', truncated, text]);
  assert.equal(bad.status, 0, bad.stderr);
  assert.equal(bad.report!.decision.action, 'unknown');
  assert.deepEqual(
    bad.report!.packages.map((p) => [p.status, p.errorCode]),
    [
      ['unreadable', 'PKG_TRUNCATED'],
      ['unreadable', 'GUARD_UNKNOWN_FORMAT'],
    ],
  );
  // K's own package beside an unreadable one: no all-clear, since the unreadable one may be what breaks.
  const mixed = guard([...bootedArgs(host, host.strictConfig), '--json', k, truncated]);
  assert.deepEqual([mixed.status, mixed.report!.decision.action], [0, 'unknown']);
  // U beside it is still refused: what was judged counts.
  assert.equal(guard([...bootedArgs(host, host.strictConfig), u, truncated]).status, 1);

  // Raw BTF that is not this host's, without a config: K's version, and so its checks, are unknown.
  const noVersion = guard(['--booted-btf', host.btf, '--booted-release', K_RELEASE, '--json', u]);
  assert.equal(noVersion.status, 0, noVersion.stderr);
  assert.equal(noVersion.report!.decision.action, 'unknown');
  assert.ok(noVersion.report!.verdicts.every((v) => v.btf === 'unverified'));
  // Not even K's own modules are an all-clear then: the kernel's checks, which depend on its version,
  // have not run on them.
  const own = guard(['--booted-btf', host.btf, '--booted-release', K_RELEASE, '--json', k]);
  assert.deepEqual([own.status, own.report!.decision.action], [0, 'unknown']);
  assert.ok(own.report!.verdicts.every((v) => v.btf === 'unverified'));

  const missing = guard([...bootedArgs(host), join(work.path, 'missing.deb')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no such file/);
});

test('only modules for the running release count; a split image/modules build finds its base in the set', async () => {
  const other = await buildKernelDebs(
    { from: RELEASES.bookworm55, version: '6.1.192-1' },
    join(work.path, 'other'),
  );
  const res = guard([...bootedArgs(host, host.strictConfig), '--json', other.image, other.headers]);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.report!.decision.action, 'pass');
  assert.deepEqual(
    res.report!.packages.map((p) => p.status),
    ['skipped', 'skipped'],
  );
  assert.equal(
    guard([...bootedArgs(host), other.image])
      .stdout.trim()
      .split('\n')
      .at(-1),
    `OK: nothing here installs modules for the running kernel ${K_RELEASE}.`,
  );

  const split = await buildSplitDebs(join(work.path, 'split'));
  // The modules alone: K accepts their BTF, but without their build base it cannot be shown to be K's.
  const alone = guard([...bootedArgs(host, host.strictConfig), '--json', split.modules]);
  assert.deepEqual([alone.status, alone.report!.decision.action], [0, 'unknown']);
  assert.ok(alone.report!.verdicts.every((v) => v.btf === 'unverified'));
  assert.match(
    alone.report!.packages[0]!.buildBase!,
    /no package given ships a vmlinuz for 6\.1\.0-56-amd64/,
  );
  const together = guard([...bootedArgs(host, host.strictConfig), '--json', split.binary, split.modules]);
  assert.deepEqual([together.status, together.report!.decision.action], [0, 'pass']);
  assert.ok(together.report!.verdicts.every((v) => v.btf === 'identical'));
  assert.deepEqual(
    together.report!.packages.map((p) => p.status),
    ['skipped', 'judged'],
  );
  assert.match(
    together.report!.packages[1]!.buildBase!,
    /linux-binary-6\.1\.0-56-amd64 6\.1\.192-2 ships, installed with it/,
  );
});
