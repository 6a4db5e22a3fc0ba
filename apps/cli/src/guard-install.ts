import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GuardError } from './guard-errors.ts';

/** Every file the installer writes starts with a comment holding this, so it only ever removes its own. */
const MARKER = 'btfwatch guard --install';

export type HookKind = 'apt' | 'dnf';

export interface InstallOptions {
  /**
   * A throwaway root the package manager is pointed at from this host (apt with APT_CONFIG/-o Dir, dnf with
   * -c): files go under it, and the paths written into them are as seen from this host. Not a chroot.
   */
  root?: string | undefined;
  /** guard options the hook passes on every run (--policy, --booted-*, --api). */
  guardArgs: string[];
}

export interface Installed {
  files: string[];
  /** What the package manager runs. */
  command: string;
  note: string;
}

/** Shell-quotes one argument for the /bin/sh apt runs hooks with. */
const sh = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * The command that runs this very btfwatch again from anywhere: the node binary, its options with
 * bare or relative loader specifiers made absolute (apt runs hooks from its own working directory), and
 * the entry script.
 */
export function selfCommand(): string[] {
  const args: string[] = [];
  const argv = process.execArgv;
  const absolute = (spec: string) =>
    spec.startsWith('.') ? resolve(spec) : /^[a-z]+:|^\//.test(spec) ? spec : import.meta.resolve(spec);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const joined = /^(--import|--loader|--experimental-loader|--require|-r)=(.*)$/.exec(a);
    if (joined) args.push(`${joined[1]}=${absolute(joined[2]!)}`);
    else if (/^(--import|--loader|--experimental-loader|--require|-r)$/.test(a) && i + 1 < argv.length) {
      args.push(a, absolute(argv[++i]!));
    } else args.push(a);
  }
  return [process.execPath, ...args, resolve(process.argv[1]!), 'guard'];
}

function under(root: string | undefined, path: string): string {
  return root ? join(resolve(root), path) : path;
}

async function ours(path: string): Promise<boolean | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return text.includes(MARKER);
}

async function writeOwn(path: string, text: string, mode: number): Promise<void> {
  if ((await ours(path)) === false)
    throw new GuardError(
      'GUARD_INSTALL',
      `${path} exists and was not written by btfwatch: not overwriting it`,
    );
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text, { mode });
  await chmod(path, mode);
}

async function removeOwn(path: string): Promise<boolean> {
  const mine = await ours(path);
  if (mine === null) return false;
  if (!mine) throw new GuardError('GUARD_INSTALL', `${path} was not written by btfwatch: not removing it`);
  await rm(path);
  return true;
}

/** apt splits a hook command at its first space to find DPkg::Tools::Options::<cmd>: keep paths plain. */
function checkPlainPath(path: string): void {
  if (/[\s"'\\;]/.test(path))
    throw new GuardError(
      'GUARD_INSTALL',
      `${path}: apt hook paths cannot hold spaces, quotes or backslashes`,
    );
}

const aptPaths = (root: string | undefined) => ({
  conf: under(root, '/etc/apt/apt.conf.d/80btfwatch-guard'),
  wrapper: under(root, '/usr/local/libexec/btfwatch/apt-guard'),
});

/** Runs a freshly written hook on an empty transaction: a hook that cannot start would stop every apt run. */
function tryHook(command: string[], input: string, what: string): void {
  const run = spawnSync(command[0]!, command.slice(1), { input, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0)
    throw new GuardError(
      'GUARD_INSTALL',
      `the ${what} hook does not run (exit ${run.status ?? run.signal}): ${(run.stderr || run.error?.message || '').trim().slice(0, 500)}`,
    );
}

async function installApt(options: InstallOptions): Promise<Installed> {
  const paths = aptPaths(options.root);
  checkPlainPath(paths.wrapper);
  const command = [...selfCommand(), '--apt-hook', ...options.guardArgs];
  const [node, ...rest] = command;
  const script = rest.find((a) => !a.startsWith('-') && !a.startsWith('file:') && a.startsWith('/'));
  // apt stops on any non-zero exit: only guard's refusal (1) may stop it. A btfwatch that is gone or
  // crashed cannot judge, and says so instead.
  const wrapper = `#!/bin/sh
# Written by \`${MARKER} apt\`; \`btfwatch guard --uninstall apt\` removes it.
# apt runs this before dpkg (DPkg::Pre-Install-Pkgs, protocol version 3 on stdin).
if [ ! -x ${sh(node!)} ] || [ ! -e ${sh(script ?? node!)} ]; then
  printf '%s\\n' ${sh(`btfwatch guard: ${node}${script ? ` or ${script}` : ''} is gone: not checking (btfwatch guard --uninstall apt, or delete ${paths.conf})`)} >&2
  exit 0
fi
${command.map(sh).join(' ')}
status=$?
if [ "$status" -gt 1 ]; then
  echo "btfwatch guard: exited with status $status: could not judge; not blocking" >&2
  exit 0
fi
exit "$status"
`;
  const conf = `// Written by \`${MARKER} apt\`; \`btfwatch guard --uninstall apt\` removes it.
// Before dpkg unpacks anything, btfwatch predicts what the booted kernel does with the modules the
// packages install for its release, and stops apt when one would fail to load (or load wrong BTF).
// Go ahead anyway: apt-get -o BtfWatch::Guard::Force=true ... (or BTFWATCH_GUARD_FORCE=1).
DPkg::Pre-Install-Pkgs { "${paths.wrapper}"; };
DPkg::Tools::Options::${paths.wrapper}::Version "3";
`;
  await writeOwn(paths.wrapper, wrapper, 0o755);
  try {
    tryHook([paths.wrapper], 'VERSION 3\n\n', 'apt');
  } catch (err) {
    await removeOwn(paths.wrapper);
    throw err;
  }
  await writeOwn(paths.conf, conf, 0o644);
  return {
    files: [paths.conf, paths.wrapper],
    command: paths.wrapper,
    note: 'apt runs it before dpkg as a DPkg::Pre-Install-Pkgs hook (protocol version 3)',
  };
}

/** Where dnf 4 loads plugins and their configuration from (dnf.const), asked of the Python dnf runs on. */
function dnfPaths(root: string | undefined): { plugin: string; conf: string } {
  let python: string;
  try {
    const dnf = execFileSync('sh', ['-c', 'command -v dnf-3 || command -v dnf'], { encoding: 'utf8' }).trim();
    const shebang = /^#!\s*(\S+)/.exec(execFileSync('head', ['-c', '200', dnf], { encoding: 'latin1' }));
    if (!shebang)
      throw new Error(
        `${dnf} is not a Python script: dnf 5, whose plugins are not Python, is not supported yet`,
      );
    python = shebang[1]!;
  } catch (err) {
    throw new GuardError(
      'GUARD_INSTALL',
      `no dnf 4 found: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  const out = execFileSync(
    python,
    ['-c', 'import json, dnf.const as c; print(json.dumps([c.PLUGINPATH, c.PLUGINCONFPATH]))'],
    { encoding: 'utf8' },
  );
  const [pluginDir, confDir] = JSON.parse(out) as [string, string];
  return {
    plugin: under(root, join(pluginDir, 'btfwatch_guard.py')),
    conf: under(root, join(confDir, 'btfwatch_guard.conf')),
  };
}

async function installDnf(options: InstallOptions): Promise<Installed> {
  const paths = dnfPaths(options.root);
  const command = [...selfCommand(), ...options.guardArgs];
  const template = await readFile(new URL('../share/dnf/btfwatch_guard.py', import.meta.url), 'utf8');
  const plugin = `# ${MARKER} dnf\n${template.replace('@@COMMAND@@', JSON.stringify(command))}`;
  tryHook([...command, '--dnf-hook'], '', 'dnf');
  await writeOwn(paths.plugin, plugin, 0o644);
  await writeOwn(paths.conf, `# Written by \`${MARKER} dnf\`.\n[main]\nenabled=1\n`, 0o644);
  return {
    files: [paths.plugin, paths.conf],
    command: command.join(' '),
    note: 'dnf runs it in its pre_transaction plugin hook, after the downloads and before rpm installs anything',
  };
}

export async function installHook(kind: HookKind, options: InstallOptions): Promise<Installed> {
  return kind === 'apt' ? installApt(options) : installDnf(options);
}

/** Removes what installHook wrote (only files carrying its marker); returns the files removed. */
export async function uninstallHook(kind: HookKind, root: string | undefined): Promise<string[]> {
  const paths = kind === 'apt' ? Object.values(aptPaths(root)) : Object.values(dnfPaths(root));
  const removed: string[] = [];
  for (const path of paths) if (await removeOwn(path)) removed.push(path);
  return removed;
}
