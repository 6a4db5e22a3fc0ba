import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { RELEASES, btfFixture, fixturesDir, moduleElf, moduleNames, vmlinuxBtf } from './fixtures.ts';
import { buildKernelDebs, vmlinuzWithBtf } from './kernel-builds.ts';
import { buildDeb, buildRpm } from './mirror-server/index.ts';

/** The booted kernel K of the guard tests: 6.1.0-56-amd64 (6.1.192-2), its real BTF and config. */
export const K_RELEASE = RELEASES.bookworm56;
export const K_VERSION = '6.1.192-2';
/** The upload U: K's release string and package name, a newer version, 6.1.0-55's files. */
export const U_VERSION = '6.1.192-2+guard1';
export const IMAGE_PACKAGE = `linux-image-${K_RELEASE}-unsigned`;

export interface GuardHost {
  btf: string;
  /** K's own config: MODULE_ALLOW_BTF_MISMATCH=y (Debian 12). */
  config: string;
  /** The same with MODULE_ALLOW_BTF_MISMATCH unset, as Ubuntu, RHEL and Debian 7.x build. */
  strictConfig: string;
}

/** Files standing in for a host booted on K. */
export function writeGuardHost(dir: string): GuardHost {
  mkdirSync(dir, { recursive: true });
  const btf = join(dir, 'vmlinux.btf');
  writeFileSync(btf, vmlinuxBtf(K_RELEASE));
  const configText = btfFixture(`${K_RELEASE}/config.xz`).toString('utf8');
  if (!/^CONFIG_MODULE_ALLOW_BTF_MISMATCH=y$/m.test(configText)) throw new Error('K config changed');
  const config = join(dir, 'config');
  writeFileSync(config, configText);
  const strictConfig = join(dir, 'config-strict');
  writeFileSync(
    strictConfig,
    configText.replace(
      /^CONFIG_MODULE_ALLOW_BTF_MISMATCH=y$/m,
      '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set',
    ),
  );
  return { btf, config, strictConfig };
}

/** `--booted-*` options standing in for K, with the config chosen. */
export function bootedArgs(host: GuardHost, config: string = host.config): string[] {
  return ['--booted-btf', host.btf, '--booted-release', K_RELEASE, '--booted-config', config];
}

/**
 * Small real packages (the twelve committed modules of each build, their real vmlinux BTF in a bzImage):
 * K's own image package, and U: 6.1.0-55's modules and vmlinuz under K's release and package name.
 */
export async function buildGuardDebs(dir: string): Promise<{ k: string; u: string }> {
  const k = await buildKernelDebs({ from: RELEASES.bookworm56, version: K_VERSION }, join(dir, 'k'));
  const u = await buildKernelDebs(
    { from: RELEASES.bookworm55, release: K_RELEASE, version: U_VERSION },
    join(dir, 'u'),
  );
  return { k: k.image, u: u.image };
}

/** Where `buildKernelDebs` puts a fixture module. */
const modulePath = (release: string, name: string) => `lib/modules/${release}/kernel/misc/${name}`;

/** Debian 7.x's split: K's modules in one package, its vmlinuz in another. */
export async function buildSplitDebs(dir: string): Promise<{ modules: string; binary: string }> {
  const files: Record<string, Uint8Array> = {};
  for (const name of moduleNames(K_RELEASE)) files[modulePath(K_RELEASE, name)] = moduleElf(K_RELEASE, name);
  const modules = await buildDeb({ name: `linux-modules-${K_RELEASE}`, version: K_VERSION, files }, dir);
  const binary = await buildDeb(
    {
      name: `linux-binary-${K_RELEASE}`,
      version: K_VERSION,
      files: { [`usr/lib/modules/${K_RELEASE}/vmlinuz`]: vmlinuzWithBtf(vmlinuxBtf(K_RELEASE)) },
    },
    dir,
  );
  return { modules, binary };
}

/** U as an .rpm in Fedora's layout (vmlinuz beside the modules under /lib/modules/<release>/). */
export async function buildGuardRpm(dir: string): Promise<string> {
  const from = RELEASES.bookworm55;
  const files: Record<string, Uint8Array> = {
    [`lib/modules/${K_RELEASE}/vmlinuz`]: vmlinuzWithBtf(vmlinuxBtf(from)),
  };
  for (const name of moduleNames(from)) files[modulePath(K_RELEASE, name)] = moduleElf(from, name);
  return buildRpm({ name: 'kernel-guardtest-core', version: '6.1.192', release: '2.guard1', files }, dir);
}

/** An apt that works on `root` only, from this host (APT_CONFIG), with K installed there (dpkg status). */
export function makeAptRoot(root: string): { aptConfig: string; statusFile: string } {
  for (const d of [
    'etc/apt/apt.conf.d',
    'etc/apt/preferences.d',
    'etc/apt/sources.list.d',
    'var/lib/dpkg/info',
    'var/lib/dpkg/updates',
    'var/lib/apt/lists/partial',
    'var/cache/apt/archives/partial',
    'var/log/apt',
  ])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/apt/sources.list'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  const installed = (name: string, version: string, arch = 'amd64') =>
    [
      `Package: ${name}`,
      'Status: install ok installed',
      'Priority: optional',
      'Section: kernel',
      'Maintainer: btfwatch tests <tests@btfwatch.invalid>',
      `Architecture: ${arch}`,
      `Version: ${version}`,
      `Description: stand-in for ${name}`,
      '',
      '',
    ].join('\n');
  const statusFile = join(root, 'var/lib/dpkg/status');
  // K's package is installed; U's dependencies are met by stand-ins (nothing is configured here).
  writeFileSync(
    statusFile,
    installed(IMAGE_PACKAGE, K_VERSION) +
      installed('kmod', '30+20221128-1') +
      installed('linux-base', '4.9', 'all') +
      installed('initramfs-tools', '0.142+deb12u1', 'all'),
  );
  const aptConfig = join(root, 'apt.conf');
  writeFileSync(
    aptConfig,
    [
      `Dir "${root}/";`,
      `Dir::State::status "${statusFile}";`,
      `DPkg::Options { "--root=${root}"; "--log=${root}/var/log/dpkg.log"; };`,
      '',
    ].join('\n'),
  );
  return { aptConfig, statusFile };
}

/** The version dpkg records for `name` in a status file. */
export function installedVersion(statusFile: string, name: string): string | null {
  const out = execFileSync(
    'dpkg-query',
    ['--admindir', join(statusFile, '..'), '-W', '-f', '${Version}', name],
    {
      encoding: 'utf8',
    },
  );
  return out || null;
}

/** Bumped whenever buildRealUpload changes what it builds, so cached copies are rebuilt. */
const REAL_UPLOAD_RECIPE = 1;

/**
 * U from a whole real package: 6.1.0-55's linux-image .deb (every module, its vmlinuz, config and
 * System.map) repacked under K's release string and package name with U_VERSION — an upload that reuses
 * the running build's release. Maintainer scripts are left out (nothing here may run them). Built once
 * into the cache (${BTFWATCH_CACHE:-~/.cache/btfwatch}/guard), zstd-compressed (xz -6 takes minutes).
 */
export function buildRealUpload(from55: string): string {
  const cacheRoot = join(process.env.BTFWATCH_CACHE ?? join(homedir(), '.cache', 'btfwatch'), 'guard');
  const key = `${basename(from55, '.deb')}-as-${K_RELEASE}-r${REAL_UPLOAD_RECIPE}`;
  const out = join(cacheRoot, `${key}.deb`);
  if (existsSync(out)) return out;
  const from = RELEASES.bookworm55;
  const scratch = join(cacheRoot, `.${key}-${randomBytes(4).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const tree = join(scratch, 'tree');
    execFileSync('dpkg-deb', ['-R', from55, tree]);
    for (const script of ['preinst', 'postinst', 'prerm', 'postrm'])
      rmSync(join(tree, 'DEBIAN', script), { force: true });
    renameSync(join(tree, 'lib/modules', from), join(tree, 'lib/modules', K_RELEASE));
    for (const name of readdirSync(join(tree, 'boot')))
      renameSync(join(tree, 'boot', name), join(tree, 'boot', name.replace(from, K_RELEASE)));
    const md5sums = join(tree, 'DEBIAN/md5sums');
    writeFileSync(
      md5sums,
      readFileSync(md5sums, 'utf8')
        .replaceAll(`/${from}/`, `/${K_RELEASE}/`)
        .replaceAll(`-${from}\n`, `-${K_RELEASE}\n`),
    );
    const control = join(tree, 'DEBIAN/control');
    writeFileSync(
      control,
      readFileSync(control, 'utf8')
        .replace(/^Package: .*$/m, `Package: ${IMAGE_PACKAGE}`)
        .replace(/^Version: .*$/m, `Version: ${U_VERSION}`)
        .replaceAll(from, K_RELEASE),
    );
    const built = join(scratch, 'u.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zzstd', '-z3', '--build', tree, built], {
      stdio: 'ignore',
    });
    mkdirSync(cacheRoot, { recursive: true });
    renameSync(built, out);
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A pinned real package from test/fixtures/fetch-packages.sh (downloaded once into the cache). */
export function pinnedPackage(name: string): string {
  const out = execFileSync(join(fixturesDir, 'fetch-packages.sh'), [name], { encoding: 'utf8' });
  const path = out.trim().split('\n').at(-1);
  if (!path || !existsSync(path)) throw new Error(`fetch-packages.sh ${name}: no package`);
  return path;
}
