import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { btfFixture, fixturesDir, moduleElf, moduleNames, vmlinuxBtf } from './fixtures.ts';
import { buildDeb, buildRpm } from './mirror-server/index.ts';

/** Where each fixture module lives in the real package (test/fixtures/btf/regenerate.sh). */
const MODULE_PATHS: Record<string, string> = {
  'overlay.ko': 'fs/overlayfs/overlay.ko',
  'dummy.ko': 'drivers/net/dummy.ko',
  'llc.ko': 'net/llc/llc.ko',
  'stp.ko': 'net/802/stp.ko',
  'nls_cp437.ko': 'fs/nls/nls_cp437.ko',
  'wp512.ko': 'crypto/wp512.ko',
  'sch_tbf.ko': 'net/sched/sch_tbf.ko',
  'veth.ko': 'drivers/net/veth.ko',
  'fuse.ko': 'fs/fuse/fuse.ko',
  'squashfs.ko': 'fs/squashfs/squashfs.ko',
  'crc-itu-t.ko': 'lib/crc-itu-t.ko',
  'udp_tunnel.ko': 'net/ipv4/udp_tunnel.ko',
};

/** How the kernel build compresses the vmlinux inside a bzImage (arch/x86/boot/compressed/Makefile). */
export type PayloadCompression = 'xz' | 'zstd' | 'lz4' | 'gzip';

/**
 * A bzImage around `btf`: the real 6.1 setup header (from the committed vmlinuz fixture) and a
 * payload of a small ELF whose .BTF section is the given bytes, compressed as the kernel build does
 * it: xz with the BCJ x86 filter (default), zstd, LZ4 legacy (`lz4 -l`, Debian's cloud flavour) or
 * gzip. Levels are chosen for test speed; decoders see the same formats.
 */
export function vmlinuzWithBtf(btf: Uint8Array, compression: PayloadCompression = 'xz'): Buffer {
  const work = mkdtempSync(join(tmpdir(), 'bw-vmlinuz-'));
  try {
    writeFileSync(join(work, 'empty'), 'btfwatch test vmlinux');
    writeFileSync(join(work, 'vmlinux.btf'), btf);
    execFileSync('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', 'empty', 'empty.o'], { cwd: work });
    execFileSync(
      'objcopy',
      [
        '--add-section',
        '.BTF=vmlinux.btf',
        '--set-section-flags',
        '.BTF=alloc,readonly,data',
        'empty.o',
        'vmlinux',
      ],
      { cwd: work },
    );
    const elf = readFileSync(join(work, 'vmlinux'));
    const [tool, args] = PAYLOAD_COMMANDS[compression];
    const payload = execFileSync(tool, [...args, join(work, 'vmlinux')], { maxBuffer: 1 << 28 });
    const template = readFileSync(join(fixturesDir, 'pkg', 'vmlinuz', 'vmlinuz-xz'));
    const setupSects = template[0x1f1] || 4;
    const payloadOffset = template.readUInt32LE(0x248);
    const header = Buffer.from(template.subarray(0, (setupSects + 1) * 512 + payloadOffset));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(elf.byteLength);
    header.writeUInt32LE(payload.byteLength + 4, 0x24c);
    return Buffer.concat([header, payload, size]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const PAYLOAD_COMMANDS: Record<PayloadCompression, [string, string[]]> = {
  xz: ['xz', ['--check=crc32', '--x86', '--lzma2=dict=32MiB', '-c']],
  zstd: ['zstd', ['-q', '-3', '-c']],
  lz4: ['lz4', ['-q', '-l', '-c']],
  gzip: ['gzip', ['-n', '-6', '-c']],
};

export interface KernelBuildSpec {
  /** Fixture release whose BTF, config, modules and symvers are used. */
  from: '6.1.0-55-amd64' | '6.1.0-56-amd64';
  /** Release string the packages claim (defaults to `from`). */
  release?: string;
  version: string;
  /** Replace the vmlinux BTF (e.g. a synthetic equal-counts variant). */
  btf?: Uint8Array;
  /** Leave modules out of the image package. */
  withoutModules?: boolean;
}

/** Small but real Debian kernel packages (image + headers) of one build, built with dpkg-deb. */
export async function buildKernelDebs(
  spec: KernelBuildSpec,
  outDir: string,
): Promise<{ image: string; headers: string }> {
  const release = spec.release ?? spec.from;
  const files: Record<string, Uint8Array | string> = {
    [`boot/vmlinuz-${release}`]: vmlinuzWithBtf(spec.btf ?? vmlinuxBtf(spec.from)),
    [`boot/config-${release}`]: btfFixture(`${spec.from}/config.xz`),
  };
  if (!spec.withoutModules) {
    for (const name of moduleNames(spec.from)) {
      let elf = moduleElf(spec.from, name);
      if (release !== spec.from) elf = relabelVermagic(elf, spec.from, release);
      files[`lib/modules/${release}/kernel/${MODULE_PATHS[name] ?? `misc/${name}`}`] = elf;
    }
  }
  const image = await buildDeb(
    {
      name: `linux-image-${release}-unsigned`,
      version: spec.version,
      source: `linux (${spec.version})`,
      depends: 'kmod, linux-base (>= 4.3~)',
      files,
    },
    outDir,
  );
  const headers = await buildDeb(
    {
      name: `linux-headers-${release}`,
      version: spec.version,
      source: `linux (${spec.version})`,
      files: {
        [`usr/src/linux-headers-${release}/Module.symvers`]: btfFixture(`${spec.from}/Module.symvers.xz`),
      },
    },
    outDir,
  );
  return { image, headers };
}

/** Rewrites the release in a module's vermagic (same length), as an ABI-compatible rebuild would carry it. */
function relabelVermagic(elf: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('relabel needs release strings of equal length');
  const copy = Buffer.from(elf);
  const needle = Buffer.from(`vermagic=${from} `);
  const at = copy.indexOf(needle);
  if (at < 0) throw new Error('module has no vermagic');
  copy.write(`vermagic=${to} `, at, 'latin1');
  return copy;
}

/** Real kernel files of builds test/fixtures/btf does not hold (test/fixtures/pkg/regenerate-builds.sh). */
const buildsDir = join(fixturesDir, 'pkg', 'builds');
let buildsManifest: Map<string, string> | undefined;

/** Decompressed bytes of an `.xz` file under test/fixtures/pkg/builds, checked against its MANIFEST. */
export function buildsFixture(relative: string): Buffer {
  buildsManifest ??= new Map(
    readFileSync(join(buildsDir, 'MANIFEST'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [sha, path] = line.split(/\s+/);
        return [path ?? '', sha ?? ''] as const;
      }),
  );
  const bytes = execFileSync('xz', ['-dc', join(buildsDir, relative)], { maxBuffer: 1 << 30 });
  if (createHash('sha256').update(bytes).digest('hex') !== buildsManifest.get(relative))
    throw new Error(`fixture ${relative} does not match test/fixtures/pkg/builds/MANIFEST`);
  return bytes;
}

/** What scanning a real build's packages must find: checked against the fixture, not against our parser. */
export interface RealBuild {
  distro: 'debian' | 'fedora';
  /** `uname -r`. */
  release: string;
  /** Source package version the packages carry. */
  version: string;
  arch: string;
  /** Decompressed vmlinux .BTF of the build (= /sys/kernel/btf/vmlinux). */
  vmlinuxBtf: Buffer;
  /** Paths of the in-tree modules the packages ship. */
  modulePaths: string[];
  /** Packages (.deb or .rpm paths) that together make the build. */
  packages: string[];
  /** Suite it is published in (apt). */
  suite: string;
}

const NEW_LAYOUT_MODULES: Record<string, string> = {
  'overlay.ko': 'fs/overlayfs/overlay.ko.xz',
  'dummy.ko': 'drivers/net/dummy.ko.xz',
  'nls_cp437.ko': 'fs/nls/nls_cp437.ko.xz',
};

/** The committed `.ko.xz` of a 6.12/7.x fixture release: the package's own bytes, not recompressed. */
function shippedKoXz(release: string, name: string): Buffer {
  return readFileSync(join(fixturesDir, 'btf', release, 'modules', `${name}.xz`));
}

/** The real shipped `.ko.xz` modules of `release` added under merged-/usr `/usr/lib/modules/<rel>/kernel/`. */
function addMergedUsrModules(files: Record<string, Uint8Array>, release: string): string[] {
  const modulePaths: string[] = [];
  for (const name of moduleNames(release)) {
    const path = `usr/lib/modules/${release}/kernel/${NEW_LAYOUT_MODULES[name] ?? `misc/${name}.xz`}`;
    files[path] = shippedKoXz(release, name);
    modulePaths.push(`/${path}`);
  }
  return modulePaths;
}

/** A build whose one `linux-image-<rel>-unsigned` package ships the vmlinuz, config and modules. */
async function imageOnlyBuild(
  b: Pick<RealBuild, 'release' | 'version' | 'vmlinuxBtf' | 'modulePaths' | 'suite'> & {
    files: Record<string, Uint8Array>;
  },
  outDir: string,
): Promise<RealBuild> {
  const image = await buildDeb(
    {
      name: `linux-image-${b.release}-unsigned`,
      version: b.version,
      source: `linux (${b.version})`,
      depends: 'kmod, linux-base (>= 4.3~)',
      files: b.files,
    },
    outDir,
  );
  const { files: _files, ...build } = b;
  return { distro: 'debian', arch: 'amd64', ...build, packages: [image] };
}

/**
 * Debian 13 (trixie, 6.12): one `linux-image-<rel>-unsigned` with a zstd vmlinuz under /boot and the
 * real `.ko.xz` modules under merged-/usr `/usr/lib/modules/<rel>/kernel/`.
 */
export async function buildTrixieDebs(outDir: string): Promise<RealBuild> {
  const release = '6.12.117+deb13-amd64';
  const version = '6.12.117-1';
  const vmlinuxBtf = btfFixture(`${release}/vmlinux.btf.xz`);
  const files: Record<string, Uint8Array> = {
    [`boot/vmlinuz-${release}`]: vmlinuzWithBtf(vmlinuxBtf, 'zstd'),
    [`boot/config-${release}`]: btfFixture(`${release}/config.xz`),
  };
  const modulePaths = addMergedUsrModules(files, release);
  return imageOnlyBuild({ release, version, vmlinuxBtf, files, modulePaths, suite: 'trixie' }, outDir);
}

/**
 * Debian 7.x (sid): `linux-image-<rel>` is only a meta package; the vmlinuz ships in
 * `linux-binary-unsigned-<rel>` (`/usr/lib/modules/<rel>/vmlinuz.unsigned`, zstd), the modules in
 * `linux-modules-<rel>`, config and System.map in `linux-base-<rel>` (the committed real package).
 */
export async function buildSidDebs(outDir: string): Promise<RealBuild> {
  const release = '7.2.13+deb14-amd64';
  const version = '7.2.13-1';
  const vmlinuxBtf = btfFixture(`${release}/vmlinux.btf.xz`);
  const source = `linux (${version})`;
  const binary = await buildDeb(
    {
      name: `linux-binary-unsigned-${release}`,
      version,
      source,
      depends: `linux-base-${release} (= ${version})`,
      files: { [`usr/lib/modules/${release}/vmlinuz.unsigned`]: vmlinuzWithBtf(vmlinuxBtf, 'zstd') },
    },
    outDir,
  );
  const files: Record<string, Uint8Array> = {};
  const modulePaths = addMergedUsrModules(files, release);
  const modules = await buildDeb(
    {
      name: `linux-modules-${release}`,
      version,
      source,
      depends: `linux-base-${release} (= ${version})`,
      files,
    },
    outDir,
  );
  const meta = await buildDeb(
    {
      name: `linux-image-${release}`,
      version,
      source,
      depends: `linux-binary-${release} (= ${version}) | linux-binary-unsigned-${release} (= ${version}), linux-modules-${release} (= ${version})`,
      files: { [`usr/share/doc/linux-image-${release}/README`]: 'meta package\n' },
    },
    outDir,
  );
  const base = join(fixturesDir, 'pkg', 'deb', 'linux-base-7.2.deb');
  return {
    distro: 'debian',
    release,
    version,
    arch: 'amd64',
    vmlinuxBtf,
    modulePaths,
    packages: [binary, modules, meta, base],
    suite: 'sid',
  };
}

/** Debian 12 cloud flavour: the vmlinuz payload is LZ4 legacy; plain `.ko` under /lib/modules. */
export async function buildCloudDebs(outDir: string): Promise<RealBuild> {
  const release = '6.1.0-56-cloud-amd64';
  const version = '6.1.192-2';
  const vmlinuxBtf = buildsFixture(`${release}/vmlinux.btf.xz`);
  const files: Record<string, Uint8Array> = {
    [`boot/vmlinuz-${release}`]: vmlinuzWithBtf(vmlinuxBtf, 'lz4'),
    [`boot/config-${release}`]: buildsFixture(`${release}/config.xz`),
  };
  const modulePaths: string[] = [];
  for (const line of readFileSync(join(buildsDir, release, 'paths'), 'utf8')
    .trim()
    .split('\n')) {
    const [name, where] = line.split(' ') as [string, string];
    const path = `lib/modules/${release}/kernel/${where}`;
    files[path] = buildsFixture(`${release}/modules/${name}.xz`);
    modulePaths.push(`/${path}`);
  }
  return imageOnlyBuild(
    { release, version, vmlinuxBtf, files, modulePaths, suite: 'bookworm-security' },
    outDir,
  );
}

/**
 * Fedora layout from the real 6.1.0-55 files: `kernel-core` (`/lib/modules/<rel>/vmlinuz`, gzip payload,
 * and `config`), `kernel-modules` (`.ko.xz` under `/lib/modules/<rel>/kernel/`), `kernel-devel`
 * (`/usr/src/kernels/<rel>/Module.symvers`), built with rpmbuild.
 */
export function buildFedoraRpms(outDir: string): Promise<RealBuild> {
  return buildRpmKernel({ from: '6.1.0-55-amd64', version: '6.1.192', release: '1.fc99' }, outDir);
}

/** An rpm kernel build in the Fedora/RHEL layout made of one real Debian build's files. */
export interface RpmKernelSpec {
  /** The real build whose BTF, config, modules and Module.symvers it carries. */
  from: string;
  version: string;
  /** The rpm release, e.g. `1.fc99` or `1.el9`: `uname -r` is `<version>-<release>.x86_64`. */
  release: string;
  /** RHEL's setting: CONFIG_MODULE_ALLOW_BTF_MISMATCH unset (a rejected BTF fails the load). */
  btfMismatchRefused?: boolean;
}

export async function buildRpmKernel(spec: RpmKernelSpec, outDir: string): Promise<RealBuild> {
  const { from } = spec;
  const release = `${spec.version}-${spec.release}.x86_64`;
  const vmlinuxBtf = btfFixture(`${from}/vmlinux.btf.xz`);
  let config = btfFixture(`${from}/config.xz`);
  if (spec.btfMismatchRefused)
    config = Buffer.from(
      config
        .toString('latin1')
        .replace(/^CONFIG_MODULE_ALLOW_BTF_MISMATCH=y$/m, '# CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set'),
      'latin1',
    );
  const common = { version: spec.version, release: spec.release, provides: [`kernel-uname-r = ${release}`] };
  const core = await buildRpm(
    {
      name: 'kernel-core',
      ...common,
      files: {
        [`lib/modules/${release}/vmlinuz`]: vmlinuzWithBtf(vmlinuxBtf, 'gzip'),
        [`lib/modules/${release}/config`]: config,
      },
    },
    outDir,
  );
  const files: Record<string, Uint8Array> = {};
  const modulePaths: string[] = [];
  for (const name of moduleNames(from)) {
    const path = `lib/modules/${release}/kernel/${MODULE_PATHS[name] ?? `misc/${name}`}.xz`;
    files[path] = readFileSync(join(fixturesDir, 'btf', from, 'modules', `${name}.xz`));
    modulePaths.push(`/${path}`);
  }
  const modules = await buildRpm(
    { name: 'kernel-modules', ...common, requires: [`kernel-uname-r = ${release}`], files },
    outDir,
  );
  const devel = await buildRpm(
    {
      name: 'kernel-devel',
      ...common,
      files: { [`usr/src/kernels/${release}/Module.symvers`]: btfFixture(`${from}/Module.symvers.xz`) },
    },
    outDir,
  );
  return {
    distro: 'fedora',
    release,
    version: `${spec.version}-${spec.release}`,
    arch: 'x86_64',
    vmlinuxBtf,
    modulePaths,
    packages: [core, modules, devel],
    suite: '.',
  };
}
