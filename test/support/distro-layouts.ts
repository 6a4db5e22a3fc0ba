/**
 * One real Debian kernel build (the pinned 6.1.0-56-cloud-amd64 image and headers, via
 * test/fixtures/fetch-packages.sh) repackaged the way Ubuntu, Fedora/RHEL, openSUSE and Proxmox ship their
 * kernels, for loopback mirrors built at test time. The vmlinuz, config, System.map, Module.symvers and
 * module ELFs are the package's own bytes; what changes per layout is what each distribution changes:
 * package names and relations, paths, the release string (and so each module's vermagic, rewritten in
 * place), module and archive compression, and Ubuntu's config leaving MODULE_ALLOW_BTF_MISMATCH unset.
 *
 * Layout facts (checked against the distributions' packaging sources):
 * - Ubuntu: linux-image-unsigned-<rel> (/boot/vmlinuz-<rel>), linux-modules-<rel> (/boot/config-<rel>,
 *   System.map, the core modules), linux-modules-extra-<rel> (the rest), linux-headers-<rel>
 *   (Module.symvers); `.ko.zst` since 23.10; members uncompressed (`dpkg-deb -Znone`).
 * - Fedora/RHEL: kernel (meta: requires the parts' uname-r), kernel-core (/lib/modules/<rel>/vmlinuz,
 *   config, System.map, symvers.xz; provides kernel-uname-r and kernel-core-uname-r), kernel-modules-core
 *   and kernel-modules (`.ko.xz`, each providing its own -uname-r and requiring kernel-uname-r),
 *   kernel-devel (/usr/src/kernels/<rel>/Module.symvers, kernel-devel-uname-r).
 * - openSUSE: kernel-default (/usr/lib/modules/<rel>/vmlinuz, config, System.map, /boot/symvers-<rel>.gz,
 *   `.ko.zst`; provides
 *   its own name and version; a `kernel-uname-r = <rel>` with two `-` is not a valid rpm EVR) and
 *   kernel-default-extra; rpm-md with filelists.
 * - Proxmox: proxmox-kernel-<rel>-signed (/boot/vmlinuz-<rel>, plain `.ko`; provides
 *   linux-image-<rel>-amd64 and proxmox-kernel-<rel>; depends busybox, initramfs-tools |
 *   linux-initramfs-tool), proxmox-headers-<rel> (provides linux-headers-<rel>-amd64), the series meta
 *   proxmox-kernel-<x.y> (provides linux-image-amd64, depends on the build), no Contents; and the older
 *   pve-kernel-<rel> naming, one release string across two package versions.
 * - Out of tree: a DKMS-style package tied to its kernel only by its dependency (apt Depends on
 *   linux-image-<rel>, rpm Requires kernel-uname-r = <rel>) with one module under updates/ or extra/.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fixturesDir } from './fixtures.ts';
import { buildsFixture } from './kernel-builds.ts';
import { buildDeb, buildRpm, type PackageFiles } from './mirror-server/index.ts';

export const SOURCE_RELEASE = '6.1.0-56-cloud-amd64';
export const SOURCE_VERSION = '6.1.192-2';

export type Layout = 'ubuntu' | 'rhel' | 'opensuse' | 'proxmox';
export const LAYOUTS: Layout[] = ['ubuntu', 'rhel', 'opensuse', 'proxmox'];

/** What scanning a layout's mirror must find, stated from the source build rather than from our parser. */
export interface LayoutBuild {
  layout: Layout;
  /** What POST /v1/mirrors is told. */
  distro: string;
  kind: 'apt' | 'rpm';
  /** apt suite the packages are published in; rpm: '.'. */
  suite: string;
  /** `uname -r` the packages carry. */
  release: string;
  /** Package versions of the kernel builds (Proxmox's old naming: two uploads of one release). */
  versions: string[];
  flavour: string | null;
  /** sha256 of the vmlinux .BTF: from the committed fixture, not from reading our packages. */
  baseBtfSha256: string;
  /** In-tree module paths (with their layout's compression suffix) one kernel build ships. */
  modulePaths: string[];
  /** The out-of-tree package and its one module, when the layout has one. */
  outOfTree?: { name: string; modulePath: string };
  /** Kernel packages a scan must select (every one but metas and non-kernel packages). */
  kernelPackages: string[];
  /** Package files to publish. */
  packages: string[];
  /** Whether the apt suite has a Contents index. */
  contents: boolean;
  /** The config's MODULE_ALLOW_BTF_MISMATCH. */
  allowBtfMismatch: boolean;
  /** Symbols in the Module.symvers the layout ships (Module.symvers, symvers.xz), or null when it ships none. */
  symversSymbols: number | null;
}

export interface SourceBuild {
  vmlinuz: Buffer;
  config: string;
  systemMap: Buffer;
  symvers: Buffer;
  /** Module path under /lib/modules/<rel>/kernel/ → ELF bytes. */
  modules: Map<string, Buffer>;
}

/** A pinned package from test/fixtures/fetch-packages.sh (downloaded once into the cache). */
function pinned(name: string): string {
  const out = execFileSync(join(fixturesDir, 'fetch-packages.sh'), [name], { encoding: 'utf8' });
  const path = out.trim().split('\n')[0];
  if (!path || !existsSync(path)) throw new Error(`fetch-packages.sh ${name}: no package`);
  return path;
}

/**
 * The source build's files. `moduleDirs` limits the modules to those under the given top-level
 * directories of kernel/ (`fs`, `lib`): the whole build has 1,121; tests take a subset to stay quick.
 */
export function readSourceBuild(moduleDirs?: readonly string[]): SourceBuild {
  const image = pinned(`linux-image-${SOURCE_RELEASE}-unsigned_`);
  const headers = pinned(`linux-headers-${SOURCE_RELEASE}_`);
  const work = mkdtempSync(join(tmpdir(), 'bw-distro-src-'));
  try {
    execFileSync('dpkg-deb', ['-x', image, work]);
    execFileSync('dpkg-deb', ['-x', headers, work]);
    const kernelDir = join(work, 'lib', 'modules', SOURCE_RELEASE, 'kernel');
    const modules = new Map<string, Buffer>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const full = join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (entry.endsWith('.ko')) modules.set(relative(kernelDir, full), readFileSync(full));
      }
    };
    for (const top of readdirSync(kernelDir).sort()) {
      if (!moduleDirs || moduleDirs.includes(top)) walk(join(kernelDir, top));
    }
    return {
      vmlinuz: readFileSync(join(work, 'boot', `vmlinuz-${SOURCE_RELEASE}`)),
      config: readFileSync(join(work, 'boot', `config-${SOURCE_RELEASE}`), 'utf8'),
      systemMap: readFileSync(join(work, 'boot', `System.map-${SOURCE_RELEASE}`)),
      symvers: readFileSync(join(work, 'usr', 'src', `linux-headers-${SOURCE_RELEASE}`, 'Module.symvers')),
      modules: new Map([...modules].sort(([a], [b]) => a.localeCompare(b))),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** sha256 of the build's vmlinux .BTF, as test/fixtures/pkg/regenerate-builds.sh extracted it. */
export function sourceBaseBtfSha256(): string {
  return createHash('sha256')
    .update(buildsFixture(`${SOURCE_RELEASE}/vmlinux.btf.xz`))
    .digest('hex');
}

/**
 * Rewrites the release in a module's `.modinfo` vermagic in place: the entry keeps its length, a shorter
 * release is padded with NULs (the kernel's and kmod's modinfo readers skip zero padding).
 */
export function relabelVermagic(elf: Buffer, from: string, to: string): Buffer {
  if (from === to) return elf;
  if (to.length > from.length) throw new Error(`release ${to} is longer than ${from}`);
  const copy = Buffer.from(elf);
  const at = copy.indexOf(Buffer.from(`vermagic=${from} `, 'latin1'));
  if (at < 0) throw new Error('module has no vermagic');
  const end = copy.indexOf(0, at);
  const entry = copy.toString('latin1', at, end).replace(`vermagic=${from} `, `vermagic=${to} `);
  copy.fill(0, at, end);
  copy.write(entry, at, 'latin1');
  return copy;
}

function symbolCount(src: SourceBuild): number {
  return src.symvers
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
}

type ModuleCompression = 'none' | 'xz' | 'zstd';
const SUFFIX: Record<ModuleCompression, string> = { none: '', xz: '.xz', zstd: '.zst' };

function compress(bytes: Buffer, how: ModuleCompression): Buffer {
  // As the kernel's `make modules_install` does it: xz with a CRC32 check (the in-kernel decoder's), zstd.
  if (how === 'xz') return execFileSync('xz', ['--check=crc32', '-3', '-T1', '-c'], { input: bytes });
  if (how === 'zstd') return execFileSync('zstd', ['-q', '-3', '-c'], { input: bytes });
  return bytes;
}

/** The modules whose top directory `pick` accepts, under `<modulesDir>/<release>/kernel/`, relabelled. */
function moduleFiles(
  src: SourceBuild,
  modulesDir: string,
  release: string,
  how: ModuleCompression,
  pick: (path: string) => boolean,
): { files: PackageFiles; paths: string[] } {
  const files: PackageFiles = {};
  const paths: string[] = [];
  for (const [path, elf] of src.modules) {
    if (!pick(path)) continue;
    const target = `${modulesDir}/${release}/kernel/${path}${SUFFIX[how]}`;
    files[target] = compress(relabelVermagic(elf, SOURCE_RELEASE, release), how);
    paths.push(`/${target}`);
  }
  return { files, paths };
}

/** Ubuntu's configs leave MODULE_ALLOW_BTF_MISMATCH unset: a rejected module BTF fails the load. */
function withoutBtfMismatch(config: string): string {
  return config.replace(
    /^CONFIG_MODULE_ALLOW_BTF_MISMATCH=y$/m,
    '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set',
  );
}

/** The source's core/extra split used where a distribution ships modules in two packages. */
const isCore = (path: string) => !path.startsWith('lib/');

const OOT_MODULE = 'lib/crc-itu-t.ko';

function outOfTreeModule(src: SourceBuild, release: string): Buffer {
  const elf = src.modules.get(OOT_MODULE);
  if (!elf) throw new Error(`the source build's module subset lacks ${OOT_MODULE}`);
  return relabelVermagic(elf, SOURCE_RELEASE, release);
}

export async function buildLayout(layout: Layout, src: SourceBuild, outDir: string): Promise<LayoutBuild> {
  switch (layout) {
    case 'ubuntu':
      return buildUbuntu(src, outDir);
    case 'rhel':
      return buildRhel(src, outDir);
    case 'opensuse':
      return buildOpenSuse(src, outDir);
    case 'proxmox':
      return buildProxmox(src, outDir);
  }
}

async function buildUbuntu(src: SourceBuild, outDir: string): Promise<LayoutBuild> {
  const release = '6.1.0-56-generic';
  const version = '6.1.0-56.56';
  const common = {
    version,
    source: `linux (${version})`,
    maintainer: 'Ubuntu Kernel Team <kernel-team@lists.ubuntu.com>',
    compression: 'none' as const,
  };
  const image = await buildDeb(
    {
      ...common,
      name: `linux-image-unsigned-${release}`,
      depends: `kmod, linux-base (>= 4.5ubuntu1~16.04.1), linux-modules-${release}`,
      recommends:
        'grub-pc | grub-efi-amd64 | grub-efi-ia32 | grub | lilo, initramfs-tools | linux-initramfs-tool',
      provides:
        'linux-image, fuse-module, kvm-api-4, redhat-cluster-modules, ivtv-modules, virtualbox-guest-modules',
      files: { [`boot/vmlinuz-${release}`]: src.vmlinuz },
    },
    outDir,
  );
  const core = moduleFiles(src, 'lib/modules', release, 'zstd', isCore);
  const modules = await buildDeb(
    {
      ...common,
      name: `linux-modules-${release}`,
      files: {
        [`boot/config-${release}`]: withoutBtfMismatch(src.config),
        [`boot/System.map-${release}`]: src.systemMap,
        ...core.files,
      },
    },
    outDir,
  );
  const rest = moduleFiles(src, 'lib/modules', release, 'zstd', (p) => !isCore(p));
  const extra = await buildDeb(
    {
      ...common,
      name: `linux-modules-extra-${release}`,
      depends: `linux-modules-${release}, wireless-regdb`,
      files: rest.files,
    },
    outDir,
  );
  const headers = await buildDeb(
    {
      ...common,
      name: `linux-headers-${release}`,
      depends:
        'linux-headers-6.1.0-56, libc6 (>= 2.34), libelf1 (>= 0.144), libssl3 (>= 3.0.0~~alpha1), zlib1g (>= 1:1.2.3.3)',
      files: { [`usr/src/linux-headers-${release}/Module.symvers`]: src.symvers },
    },
    outDir,
  );
  const meta = await buildDeb(
    {
      ...common,
      name: 'linux-image-generic',
      version: '6.1.0.56.56',
      source: 'linux-meta (6.1.0.56.56)',
      depends: `linux-image-${release}, linux-modules-extra-${release}`,
      files: { 'usr/share/doc/linux-image-generic/README': 'meta package\n' },
    },
    outDir,
  );
  const oot = await buildDeb(
    {
      name: 'acme-crc-modules',
      version: '1.0-1',
      section: 'misc',
      depends: `linux-image-${release} | linux-image-unsigned-${release}`,
      compression: 'none',
      files: {
        [`lib/modules/${release}/updates/dkms/acme_crc.ko.zst`]: compress(
          outOfTreeModule(src, release),
          'zstd',
        ),
      },
    },
    outDir,
  );
  return {
    layout: 'ubuntu',
    distro: 'ubuntu',
    kind: 'apt',
    suite: 'noble-updates',
    release,
    versions: [version],
    flavour: 'generic',
    baseBtfSha256: sourceBaseBtfSha256(),
    modulePaths: [...core.paths, ...rest.paths].sort(),
    outOfTree: {
      name: 'acme-crc-modules',
      modulePath: `/lib/modules/${release}/updates/dkms/acme_crc.ko.zst`,
    },
    kernelPackages: [
      `linux-image-unsigned-${release}`,
      `linux-modules-${release}`,
      `linux-modules-extra-${release}`,
      `linux-headers-${release}`,
      'acme-crc-modules',
    ].sort(),
    packages: [image, modules, extra, headers, meta, oot],
    contents: true,
    allowBtfMismatch: false,
    symversSymbols: symbolCount(src),
  };
}

async function buildRhel(src: SourceBuild, outDir: string): Promise<LayoutBuild> {
  const release = '6.1.0-56.el9.x86_64';
  const common = { version: '6.1.0', release: '56.el9', payload: 'w3.zstdio' };
  const uname = (part: string) => `${part}-uname-r = ${release}`;
  const core = await buildRpm(
    {
      ...common,
      name: 'kernel-core',
      provides: [uname('kernel'), uname('kernel-core'), 'installonlypkg(kernel)'],
      files: {
        [`lib/modules/${release}/vmlinuz`]: src.vmlinuz,
        [`lib/modules/${release}/config`]: src.config,
        [`lib/modules/${release}/System.map`]: src.systemMap,
        [`lib/modules/${release}/symvers.xz`]: execFileSync('xz', ['-T1', '-c'], { input: src.symvers }),
      },
    },
    outDir,
  );
  const coreModules = moduleFiles(src, 'lib/modules', release, 'xz', isCore);
  const modulesCore = await buildRpm(
    {
      ...common,
      name: 'kernel-modules-core',
      provides: [uname('kernel-modules-core'), 'installonlypkg(kernel-module)'],
      requires: [uname('kernel')],
      files: coreModules.files,
    },
    outDir,
  );
  const rest = moduleFiles(src, 'lib/modules', release, 'xz', (p) => !isCore(p));
  const modules = await buildRpm(
    {
      ...common,
      name: 'kernel-modules',
      provides: [uname('kernel-modules'), 'installonlypkg(kernel-module)'],
      requires: [uname('kernel'), uname('kernel-modules-core')],
      files: rest.files,
    },
    outDir,
  );
  const devel = await buildRpm(
    {
      ...common,
      name: 'kernel-devel',
      provides: [uname('kernel-devel'), 'installonlypkg(kernel)'],
      files: { [`usr/src/kernels/${release}/Module.symvers`]: src.symvers },
    },
    outDir,
  );
  const meta = await buildRpm(
    {
      ...common,
      name: 'kernel',
      requires: [uname('kernel-core'), uname('kernel-modules'), uname('kernel-modules-core')],
      provides: ['installonlypkg(kernel)'],
      files: {},
    },
    outDir,
  );
  const ootPath = `lib/modules/${release}/extra/acme/acme_crc.ko.xz`;
  const oot = await buildRpm(
    {
      name: 'acme-crc',
      version: '1.0',
      release: '1.el9',
      requires: [`kernel-uname-r = ${release}`],
      files: { [ootPath]: compress(outOfTreeModule(src, release), 'xz') },
    },
    outDir,
  );
  return {
    layout: 'rhel',
    distro: 'rhel',
    kind: 'rpm',
    suite: '.',
    release,
    versions: ['6.1.0-56.el9'],
    flavour: null,
    baseBtfSha256: sourceBaseBtfSha256(),
    modulePaths: [...coreModules.paths, ...rest.paths].sort(),
    outOfTree: { name: 'acme-crc', modulePath: `/${ootPath}` },
    kernelPackages: [
      'acme-crc',
      'kernel',
      'kernel-core',
      'kernel-devel',
      'kernel-modules',
      'kernel-modules-core',
    ],
    packages: [core, modulesCore, modules, devel, meta, oot],
    contents: true,
    allowBtfMismatch: true,
    symversSymbols: symbolCount(src),
  };
}

async function buildOpenSuse(src: SourceBuild, outDir: string): Promise<LayoutBuild> {
  const release = '6.1.192-2-default';
  const common = { version: '6.1.192', release: '2.1', payload: 'w3.zstdio' };
  const core = moduleFiles(src, 'usr/lib/modules', release, 'zstd', isCore);
  const kernel = await buildRpm(
    {
      ...common,
      name: 'kernel-default',
      // rpm refuses `kernel-uname-r = 6.1.192-2-default` (two `-` in one EVR): found by its filelists.
      provides: [`kernel-default = ${common.version}-${common.release}`, 'multiversion(kernel)'],
      files: {
        [`usr/lib/modules/${release}/vmlinuz`]: src.vmlinuz,
        [`usr/lib/modules/${release}/config`]: src.config,
        [`usr/lib/modules/${release}/System.map`]: src.systemMap,
        [`boot/symvers-${release}.gz`]: gzipSync(src.symvers),
        ...core.files,
      },
    },
    outDir,
  );
  const rest = moduleFiles(src, 'usr/lib/modules', release, 'zstd', (p) => !isCore(p));
  const extra = await buildRpm(
    {
      ...common,
      name: 'kernel-default-extra',
      requires: [`kernel-default = ${common.version}-${common.release}`],
      files: rest.files,
    },
    outDir,
  );
  return {
    layout: 'opensuse',
    distro: 'opensuse',
    kind: 'rpm',
    suite: '.',
    release,
    versions: ['6.1.192-2.1'],
    flavour: 'default',
    baseBtfSha256: sourceBaseBtfSha256(),
    modulePaths: [...core.paths, ...rest.paths].sort(),
    kernelPackages: ['kernel-default', 'kernel-default-extra'],
    packages: [kernel, extra],
    contents: true,
    allowBtfMismatch: true,
    symversSymbols: symbolCount(src),
  };
}

async function buildProxmox(src: SourceBuild, outDir: string): Promise<LayoutBuild> {
  const release = '6.1.192-1-pve';
  const version = '6.1.192-1';
  const common = {
    compression: 'zstd' as const,
    source: 'proxmox-kernel-6.1',
    maintainer: 'Proxmox Support Team <support@proxmox.com>',
    section: 'admin',
  };
  const mods = moduleFiles(src, 'lib/modules', release, 'none', () => true);
  const bootFiles = (rel: string): PackageFiles => ({
    [`boot/vmlinuz-${rel}`]: src.vmlinuz,
    [`boot/config-${rel}`]: src.config,
    [`boot/System.map-${rel}`]: src.systemMap,
  });
  const signed = await buildDeb(
    {
      ...common,
      name: `proxmox-kernel-${release}-signed`,
      version,
      provides: `linux-image-${release}-amd64, proxmox-kernel-${release}, pve-kernel-${release}-signed`,
      depends: 'busybox, initramfs-tools | linux-initramfs-tool',
      recommends: 'grub-pc | grub-efi-amd64 | grub-efi-ia32 | grub-efi-arm64',
      files: { ...bootFiles(release), ...mods.files },
    },
    outDir,
  );
  const headers = await buildDeb(
    {
      ...common,
      section: 'devel',
      name: `proxmox-headers-${release}`,
      version,
      provides: `linux-headers-${release}-amd64, pve-headers-${release}`,
      files: { [`usr/src/linux-headers-${release}/Module.symvers`]: src.symvers },
    },
    outDir,
  );
  const meta = await buildDeb(
    {
      ...common,
      name: 'proxmox-kernel-6.1',
      version: '6.1.192-1',
      provides: 'linux-image-amd64, linux-image-generic, wireguard-modules (=1.0.0), pve-kernel-6.1',
      depends: `pve-firmware, proxmox-kernel-${release}-signed | proxmox-kernel-${release}`,
      files: { 'usr/share/doc/proxmox-kernel-6.1/README': 'meta package\n' },
    },
    outDir,
  );
  // The older naming: pve-kernel-<rel>, one release string across two uploads, declaring nothing but
  // its need for an initramfs.
  const oldRelease = '6.1.192-9-pve';
  const oldMods = moduleFiles(src, 'lib/modules', oldRelease, 'none', () => true);
  const old = [];
  for (const v of ['6.1.192-17', '6.1.192-18']) {
    old.push(
      await buildDeb(
        {
          ...common,
          source: 'pve-kernel',
          name: `pve-kernel-${oldRelease}`,
          version: v,
          provides: 'linux-image, linux-image-2.6',
          depends: 'busybox, initramfs-tools | linux-initramfs-tool',
          files: { ...bootFiles(oldRelease), ...oldMods.files },
        },
        join(outDir, v),
      ),
    );
  }
  return {
    layout: 'proxmox',
    distro: 'proxmox',
    kind: 'apt',
    suite: 'bookworm',
    release,
    versions: [version],
    flavour: 'pve',
    baseBtfSha256: sourceBaseBtfSha256(),
    modulePaths: mods.paths.sort(),
    kernelPackages: [
      `proxmox-kernel-${release}-signed`,
      `proxmox-headers-${release}`,
      `pve-kernel-${oldRelease}`,
    ].sort(),
    packages: [signed, headers, meta, ...old],
    contents: false,
    allowBtfMismatch: true,
    symversSymbols: symbolCount(src),
  };
}

/** The older Proxmox build in the proxmox layout: one release, two package versions. */
export const PVE_OLD = { release: '6.1.192-9-pve', versions: ['6.1.192-17', '6.1.192-18'] } as const;
