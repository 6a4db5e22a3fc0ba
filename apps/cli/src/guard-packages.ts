import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Btf } from '@btfwatch/btf';
import type { BuildBase } from '@btfwatch/compat';
import {
  classifyPath,
  extractPackage,
  readDeb,
  readRpm,
  type ExtractedModule,
  type ExtractedPackage,
} from '@btfwatch/pkg';
import { GuardError } from './guard-errors.ts';

export type PackageFormat = 'deb' | 'rpm';

/** What a package says about itself before its files are read. */
export interface PackageProbe {
  file: string;
  format: PackageFormat;
  name: string;
  version: string;
  arch: string;
  /**
   * Releases it installs modules (`modules`) or a kernel image (`images`) for, from its file list (a
   * .deb's md5sums, an .rpm header's file names); null when it carries no list (then it must be read).
   */
  modules: Set<string> | null;
  images: Set<string> | null;
}

const RPM_LEAD = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const AR_MAGIC = Buffer.from('!<arch>\n');
/** %ghost files are listed in the header but not installed from the payload. */
const RPMFILE_GHOST = 0x40;

/** .deb or .rpm by the file's first bytes (not its name: apt's cache and dnf's keep odd names). */
export async function detectFormat(path: string): Promise<PackageFormat | null> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    if (bytesRead >= 8 && head.equals(AR_MAGIC)) return 'deb';
    if (bytesRead >= 4 && head.subarray(0, 4).equals(RPM_LEAD)) return 'rpm';
    return null;
  } finally {
    await handle.close();
  }
}

/** Stops a package read once its metadata is in: the file list says whether the rest matters. */
class MetadataRead extends Error {}

function releasesOf(paths: Iterable<string>): { modules: Set<string>; images: Set<string> } {
  const modules = new Set<string>();
  const images = new Set<string>();
  for (const path of paths) {
    const c = classifyPath(path);
    if (c?.kind === 'module') modules.add(c.release);
    else if (c?.kind === 'vmlinuz') images.add(c.release);
  }
  return { modules, images };
}

/** Reads only a package's header (control.tar of a .deb, the header of an .rpm). */
export async function probePackage(file: string): Promise<PackageProbe> {
  const format = await detectFormat(file);
  if (!format)
    throw new GuardError(
      'GUARD_UNKNOWN_FORMAT',
      `${file}: neither a .deb (ar archive) nor an .rpm (lead magic)`,
    );
  let probe: PackageProbe | null = null;
  try {
    if (format === 'deb') {
      await readDeb(createReadStream(file), {
        onMetadata: (meta) => {
          const listed = meta.md5sums.size > 0 ? releasesOf(meta.md5sums.keys()) : null;
          probe = {
            file,
            format,
            name: meta.package,
            version: meta.version,
            arch: meta.architecture,
            modules: listed?.modules ?? null,
            images: listed?.images ?? null,
          };
          throw new MetadataRead();
        },
      });
    } else {
      await readRpm(createReadStream(file), {
        onMetadata: (meta) => {
          const listed = releasesOf(
            meta.files.filter((f) => (f.flags & RPMFILE_GHOST) === 0).map((f) => f.path),
          );
          probe = {
            file,
            format,
            name: meta.name,
            version: `${meta.epoch ? `${meta.epoch}:` : ''}${meta.version}-${meta.release}`,
            arch: meta.arch,
            modules: listed.modules,
            images: listed.images,
          };
          throw new MetadataRead();
        },
      });
    }
  } catch (err) {
    if (!(err instanceof MetadataRead)) throw err;
  }
  if (!probe) throw new Error(`${file}: the package reader returned without its metadata`);
  return probe;
}

/** Whether the package may install modules for `release` (or a kernel image that is their build base). */
export function touchesRelease(probe: PackageProbe, release: string): { modules: boolean; image: boolean } {
  return {
    modules: probe.modules === null || probe.modules.has(release),
    image: probe.images === null || probe.images.has(release),
  };
}

export interface ReadPackage {
  probe: PackageProbe;
  extracted: ExtractedPackage;
}

/** Reads the kernel and module facts of a package (libs/pkg extractPackage). */
export async function readPackage(probe: PackageProbe): Promise<ReadPackage> {
  return { probe, extracted: await extractPackage(probe.file, probe.format) };
}

/** The modules a package installs for `release`. */
export function modulesFor(pkg: ReadPackage, release: string): ExtractedModule[] {
  return pkg.extracted.modules.filter((m) => m.release === release);
}

export interface ChosenBase {
  base: BuildBase | null;
  /** Where the base comes from, or why there is none, for the report. */
  description: string;
}

const label = (p: PackageProbe) => `${p.name} ${p.version}`;

/** Parses each vmlinux BTF once, however many packages of a set ask for it. */
export class BaseCache {
  private readonly parsed = new Map<Uint8Array, BuildBase>();
  get(bytes: Uint8Array): BuildBase {
    let base = this.parsed.get(bytes);
    if (!base) {
      const btf = Btf.parse(bytes);
      // "same-build": the vmlinuz of the module's own kernel build, as the service names it.
      base = { btf, sha256: btf.sha256, how: 'same-build' };
      this.parsed.set(bytes, base);
    }
    return base;
  }
}

/**
 * The build base of the in-tree modules a package installs for `release`: the vmlinuz of the same
 * build — the package's own, else the one other package given with it ships (Debian 7.x ships image and
 * modules apart). A vmlinuz without BTF, several different ones, or none: no base, and why.
 */
export function chooseBase(
  pkg: ReadPackage,
  set: ReadPackage[],
  release: string,
  cache: BaseCache,
): ChosenBase {
  const own = pkg.extracted.kernels.get(release);
  if (own && own.vmlinuxBtf !== undefined) {
    if (own.vmlinuxBtf === null)
      return { base: null, description: `the vmlinuz of ${label(pkg.probe)} has no BTF` };
    const base = cache.get(own.vmlinuxBtf);
    return { base, description: `the vmlinuz ${label(pkg.probe)} ships (${base.sha256.slice(0, 12)}…)` };
  }
  const others = new Map<string, { base: BuildBase; from: PackageProbe }>();
  for (const other of set) {
    const btf = other.extracted.kernels.get(release)?.vmlinuxBtf;
    if (!btf) continue;
    const base = cache.get(btf);
    if (!others.has(base.sha256)) others.set(base.sha256, { base, from: other.probe });
  }
  const found = [...others.values()];
  if (found.length === 1) {
    const { base, from } = found[0]!;
    return {
      base,
      description: `the vmlinuz ${label(from)} ships, installed with it (${base.sha256.slice(0, 12)}…)`,
    };
  }
  if (found.length > 1)
    return {
      base: null,
      description: `the packages given ship ${found.length} different vmlinuz images for ${release}`,
    };
  return { base: null, description: `no package given ships a vmlinuz for ${release}` };
}
