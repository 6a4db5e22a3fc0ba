import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAptHookInput } from '@btfwatch/cli/guard';
import { runCli } from '../../support/cli.ts';
import {
  IMAGE_PACKAGE,
  K_RELEASE,
  K_VERSION,
  U_VERSION,
  bootedArgs,
  buildGuardDebs,
  installedVersion,
  makeAptRoot,
  writeGuardHost,
  type GuardHost,
} from '../../support/guard.ts';
import { tempDir } from '../../support/services.ts';

// The apt side: `guard --apt-hook` on apt's Pre-Install-Pkgs input, `guard --install apt`, and a real
// apt-get run in a throwaway root (APT_CONFIG points apt and dpkg --root at it; nothing is chrooted).
const work = tempDir('btfwatch-guard-apt-');
let host: GuardHost;
let k: string;
let u: string;

before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  ({ k, u } = await buildGuardDebs(work.path));
});
after(() => work.remove());

const hook = (input: string, args: string[] = [], env: Record<string, string> = {}) =>
  runCli(['guard', '--apt-hook', ...bootedArgs(host, host.strictConfig), ...args], env, input);

const v3 = (file: string, config: string[] = []) =>
  [
    'VERSION 3',
    'APT::Architecture=amd64',
    ...config,
    '',
    `${IMAGE_PACKAGE} ${K_VERSION} amd64 same < ${U_VERSION} amd64 same ${file}`,
    `${IMAGE_PACKAGE} ${K_VERSION} amd64 same < ${U_VERSION} amd64 same **CONFIGURE**`,
    '',
  ].join('\n');

test('--apt-hook reads protocol versions 1, 2 and 3: U refused in each, with apt’s old and new versions', () => {
  const one = hook(`${u}\n`);
  assert.equal(one.status, 1, one.stdout + one.stderr);
  assert.match(one.stdout, /^REFUSED: 12 modules/m);
  const two = hook(
    `VERSION 2\nAPT::Architecture=amd64\n\n${IMAGE_PACKAGE} ${K_VERSION} < ${U_VERSION} ${u}\n`,
  );
  assert.equal(two.status, 1, two.stdout + two.stderr);
  const three = hook(v3(u));
  assert.equal(three.status, 1, three.stdout + three.stderr);
  assert.ok(
    three.stdout.includes(`${IMAGE_PACKAGE} ${K_VERSION} → ${U_VERSION}: installs 12 modules`),
    three.stdout,
  );
  assert.match(three.stdout, /apt-get -o BtfWatch::Guard::Force=true/);
  // K's own package, and transactions that unpack nothing, pass; the latter silently.
  assert.equal(hook(v3(k)).status, 0);
  const configureOnly = hook(
    `VERSION 3\n\n${IMAGE_PACKAGE} ${K_VERSION} amd64 same = ${K_VERSION} amd64 same **CONFIGURE**\n`,
  );
  assert.deepEqual([configureOnly.status, configureOnly.stdout], [0, '']);
});

test('per-run settings through apt: BtfWatch::Guard::Force and ::Policy; a mistyped one is reported, not obeyed', () => {
  const forced = hook(v3(u, ['BtfWatch::Guard::Force=true']));
  assert.equal(forced.status, 0, forced.stdout);
  assert.match(forced.stdout, /^FORCED: /m);
  assert.equal(hook(v3(u, ['BtfWatch::Guard::Policy=report'])).status, 0);
  assert.equal(hook(v3(u), [], { BTFWATCH_GUARD_FORCE: 'yes' }).status, 0);
  const typo = hook(v3(u, ['BtfWatch::Guard::Policy=lenient']));
  assert.equal(typo.status, 1, 'the default policy still applies');
  assert.match(
    typo.stderr,
    /BtfWatch::Guard::Policy "lenient": expected one of default, strict, report; using the default policy/,
  );
});

test("input that is not apt's, or a hook that fails in itself, never blocks apt: it says why", () => {
  const bad = hook('VERSION 3\nAPT::Architecture=amd64\n');
  assert.equal(bad.status, 0);
  assert.match(
    bad.stdout,
    /cannot judge \(apt hook input line 2: the configuration section does not end with a blank line, GUARD_BAD_HOOK_INPUT\); not blocking/,
  );
  const gone = hook(v3(join(work.path, 'deleted.deb')));
  assert.equal(gone.status, 0);
  assert.match(gone.stdout, /CANNOT JUDGE: 1 of 1 packages could not be read; not blocking/);
});

test('--install apt writes the conf and hook (protocol 3), refuses to overwrite foreign files; --uninstall removes its own', () => {
  const root = join(work.path, 'install-root');
  const res = runCli([
    'guard',
    '--install',
    'apt',
    '--root',
    root,
    '--policy',
    'strict',
    ...bootedArgs(host),
  ]);
  assert.equal(res.status, 0, res.stderr);
  const conf = readFileSync(join(root, 'etc/apt/apt.conf.d/80btfwatch-guard'), 'utf8');
  const wrapper = join(root, 'usr/local/libexec/btfwatch/apt-guard');
  assert.ok(conf.includes(`DPkg::Pre-Install-Pkgs { "${wrapper}"; };`), conf);
  assert.ok(conf.includes(`DPkg::Tools::Options::${wrapper}::Version "3";`), conf);
  const script = readFileSync(wrapper, 'utf8');
  assert.match(script, / 'guard' '--apt-hook' '--policy' 'strict' .*'--booted-btf' '[^']*vmlinux\.btf'/);
  // The hook as apt runs it: /bin/sh, from another working directory, protocol 3 on stdin.
  const run = spawnSync('/bin/sh', ['-c', wrapper], { cwd: '/', input: v3(u), encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stdout, /^REFUSED: /m, 'policy strict refuses even with MODULE_ALLOW_BTF_MISMATCH=y');
  // Only a refusal may stop apt: a btfwatch that is gone since cannot judge, and says so.
  const stale = join(root, 'stale-apt-guard');
  writeFileSync(stale, script.replaceAll(`'${process.execPath}'`, "'/nonexistent/node'"), { mode: 0o755 });
  const gone = spawnSync('/bin/sh', ['-c', stale], { input: v3(u), encoding: 'utf8' });
  assert.equal(gone.status, 0, gone.stdout + gone.stderr);
  assert.match(gone.stderr, /^btfwatch guard: .* is gone: not checking \(btfwatch guard --uninstall apt/m);

  const foreign = join(work.path, 'foreign-root');
  const foreignConf = join(foreign, 'etc/apt/apt.conf.d/80btfwatch-guard');
  makeAptRoot(foreign);
  writeFileSync(foreignConf, '// the admin’s own file\n');
  const refused = runCli(['guard', '--install', 'apt', '--root', foreign]);
  assert.equal(refused.status, 1);
  assert.match(
    refused.stderr,
    /80btfwatch-guard exists and was not written by btfwatch: not overwriting it \(GUARD_INSTALL\)/,
  );
  assert.equal(readFileSync(foreignConf, 'utf8'), '// the admin’s own file\n');

  const removed = runCli(['guard', '--uninstall', 'apt', '--root', root]);
  assert.equal(removed.status, 0, removed.stderr);
  assert.ok(!existsSync(wrapper) && !existsSync(join(root, 'etc/apt/apt.conf.d/80btfwatch-guard')));
  assert.match(
    runCli(['guard', '--uninstall', 'apt', '--root', root]).stdout,
    /no apt hook of btfwatch installed/,
  );
});

test('a real apt-get install ./U.deb stops before dpkg; with BtfWatch::Guard::Force it goes ahead', () => {
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
  // Recorders run before the guard (apt.conf.d is read in order): what apt itself writes, versions 1 and 2.
  const recorder = (version: number) => {
    const script = join(root, `record-v${version}`);
    writeFileSync(script, `#!/bin/sh\ncat > ${script}.input\n`);
    chmodSync(script, 0o755);
    return `DPkg::Pre-Install-Pkgs { "${script}"; };\nDPkg::Tools::Options::${script}::Version "${version}";\n`;
  };
  writeFileSync(join(root, 'etc/apt/apt.conf.d/10record'), recorder(1) + recorder(2));

  const apt = (args: string[]) =>
    spawnSync('apt-get', ['-y', ...args, 'install', u], {
      cwd: work.path,
      env: { ...process.env, APT_CONFIG: aptConfig, DEBIAN_FRONTEND: 'noninteractive' },
      encoding: 'utf8',
      timeout: 300_000,
    });
  const stopped = apt([]);
  assert.equal(stopped.status, 100, stopped.stdout + stopped.stderr);
  assert.match(stopped.stderr, /E: Failure running script .*apt-guard/);
  assert.match(stopped.stdout, /^REFUSED: 12 modules would fail to load/m);
  assert.equal(installedVersion(statusFile, IMAGE_PACKAGE), K_VERSION, 'dpkg never ran');
  assert.ok(!existsSync(join(root, 'lib/modules', K_RELEASE)), 'no module file replaced');

  // What apt wrote to the hooks is what guard parses: the same transaction in both versions.
  const v1 = parseAptHookInput(readFileSync(join(root, 'record-v1.input'), 'utf8'));
  assert.deepEqual(
    v1.actions.map((a) => a.file),
    [u],
  );
  const v2 = parseAptHookInput(readFileSync(join(root, 'record-v2.input'), 'utf8'));
  assert.equal(v2.version, 2);
  const unpack = v2.actions.find((a) => a.action === 'unpack')!;
  assert.deepEqual(
    [unpack.package, unpack.oldVersion, unpack.direction, unpack.newVersion, unpack.file],
    [IMAGE_PACKAGE, K_VERSION, '<', U_VERSION, u],
  );
  assert.ok(v2.config.get('dpkg::pre-install-pkgs::')?.some((c) => c.endsWith('/apt-guard')));
  for (const recorded of ['record-v1.input', 'record-v2.input']) {
    const replay = runCli(
      ['guard', '--apt-hook', ...bootedArgs(host, host.strictConfig)],
      {},
      readFileSync(join(root, recorded), 'utf8'),
    );
    assert.equal(replay.status, 1, `${recorded}: ${replay.stdout}`);
  }

  const forced = apt(['-o', 'BtfWatch::Guard::Force=true']);
  assert.equal(forced.status, 0, forced.stdout + forced.stderr);
  assert.match(forced.stdout, /^FORCED: /m);
  assert.equal(installedVersion(statusFile, IMAGE_PACKAGE), U_VERSION);
  assert.equal(readdirSync(join(root, 'lib/modules', K_RELEASE, 'kernel')).length > 0, true);
});
