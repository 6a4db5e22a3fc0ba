import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { K_RELEASE, bootedArgs, buildGuardRpm, writeGuardHost, type GuardHost } from '../../support/guard.ts';
import { tempDir } from '../../support/services.ts';

// The dnf side: `guard --install dnf` writes a dnf 4 plugin whose pre_transaction hook (after the
// downloads and the transaction test, before rpm installs anything) runs the guard. A real dnf, pointed
// at a throwaway installroot and at the plugin directory under the test root, installs U.rpm.
const work = tempDir('btfwatch-guard-dnf-');
let host: GuardHost;
let rpm: string;
let root: string;
let dnfConf: string;

/** Where dnf 4 keeps plugins (dnf.const.PLUGINPATH), asked of the Python dnf itself runs on. */
function pluginDir(): string {
  const dnf = spawnSync('sh', ['-c', 'command -v dnf-3 || command -v dnf'], {
    encoding: 'utf8',
  }).stdout.trim();
  const python = /^#!\s*(\S+)/.exec(readFileSync(dnf, 'latin1'))![1]!;
  return spawnSync(python, ['-c', 'import dnf.const; print(dnf.const.PLUGINPATH)'], {
    encoding: 'utf8',
  }).stdout.trim();
}

before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  rpm = await buildGuardRpm(join(work.path, 'rpms'));
  root = join(work.path, 'root');
  mkdirSync(join(root, 'installroot'), { recursive: true });
  mkdirSync(join(root, 'repos.d'), { recursive: true });
  dnfConf = join(root, 'dnf.conf');
  writeFileSync(
    dnfConf,
    [
      '[main]',
      `pluginpath=${join(root, pluginDir())}`,
      `pluginconfpath=${join(root, 'etc/dnf/plugins')}`,
      `reposdir=${join(root, 'repos.d')}`,
      'gpgcheck=0',
      '',
    ].join('\n'),
  );
});
after(() => work.remove());

function dnfInstall(env: Record<string, string> = {}) {
  return spawnSync(
    'dnf',
    ['-c', dnfConf, `--installroot=${join(root, 'installroot')}`, '--releasever=1', '-y', 'install', rpm],
    { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 300_000 },
  );
}

test('a real dnf install of U stops in the plugin before rpm runs; BTFWATCH_GUARD_FORCE lets it through', () => {
  const installed = runCli([
    'guard',
    '--install',
    'dnf',
    '--root',
    root,
    ...bootedArgs(host, host.strictConfig),
  ]);
  assert.equal(installed.status, 0, installed.stderr);
  const plugin = join(root, pluginDir(), 'btfwatch_guard.py');
  assert.match(
    readFileSync(plugin, 'utf8'),
    /^COMMAND = \[".*","guard","--booted-release","6\.1\.0-56-amd64",/m,
  );
  assert.match(readFileSync(join(root, 'etc/dnf/plugins/btfwatch_guard.conf'), 'utf8'), /^enabled=1$/m);

  const stopped = dnfInstall();
  assert.equal(stopped.status, 1, stopped.stdout + stopped.stderr);
  assert.match(stopped.stdout, /^Transaction test succeeded\.$/m);
  assert.match(stopped.stdout, /^REFUSED: 12 modules would fail to load/m);
  assert.match(stopped.stdout, /dnf versionlock add kernel-guardtest-core/);
  assert.match(stopped.stderr, /Error: btfwatch guard refused this transaction/);
  const modules = join(root, 'installroot/lib/modules', K_RELEASE);
  assert.ok(!existsSync(modules), 'rpm installed nothing');

  const forced = dnfInstall({ BTFWATCH_GUARD_FORCE: '1' });
  assert.equal(forced.status, 0, forced.stdout + forced.stderr);
  assert.match(forced.stdout, /^FORCED: /m);
  assert.ok(existsSync(join(modules, 'vmlinuz')));

  const removed = runCli(['guard', '--uninstall', 'dnf', '--root', root]);
  assert.equal(removed.status, 0, removed.stderr);
  assert.ok(!existsSync(plugin));
});
