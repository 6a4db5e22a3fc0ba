import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { readModuleFacts, readVmlinuxExports, type ModuleFacts } from '@btfwatch/compat';
import type { ExportedCrc } from '@btfwatch/elf';
import { readDeb } from './deb.ts';
import { describeLayers, readKernelImage } from './kernel-image.ts';
import { decompressModule } from './module.ts';
import { decompressBuffer } from './compression.ts';

/** A Module.symvers is a few MiB (6.1 amd64: 1.6 MiB); anything near this is not one. */
const SYMVERS_MAX_BYTES = 256 * 1024 * 1024;
import type { PickedFile } from './pick.ts';
import { readRpm } from './rpm.ts';

/** What the kernel image itself says, beside its BTF (not stored yet: for the arch-aware schema). */
export interface KernelImageFacts {
  /** Path of the image in the package. */
  path: string;
  /** Its containers, outermost first: "bzimage (zstd) → elf", "arm64-image", "s390-image (zstd) → raw". */
  format: string;
  /** Byte order of its BTF (or vmlinux ELF); null when neither tells. */
  littleEndian: boolean | null;
  /** The CPU architecture the image is for (Debian names; `arm` for 32-bit ARM); null when unknown. */
  arch: string | null;
  /** The `Linux version …` banner and the release it names. */
  banner: string | null;
  release: string | null;
  /** Why the image has no BTF, when it has none. */
  noBtf: string | null;
}

/** Kernel-wide files one package carries for one release. */
export interface KernelPart {
  release: string;
  /** The vmlinux BTF (/sys/kernel/btf/vmlinux); null when the package has a kernel image without BTF. */
  vmlinuxBtf?: Uint8Array | null;
  /**
   * What the vmlinux exports with its CRCs; null when it carries none, undefined without a vmlinuz or
   * when the image holds a raw kernel (arm64, riscv64, s390x, armhf: no ELF symbol table to read).
   */
  vmlinuxExports?: ExportedCrc[] | null;
  image?: KernelImageFacts;
  configText?: string;
  symversText?: string;
}

export interface ExtractedModule {
  path: string;
  release: string;
  /** Shipped under `<modules dir>/<release>/kernel/`: built with the kernel itself. */
  inTree: boolean;
  facts: ModuleFacts;
}

export interface ExtractedPackage {
  kernels: Map<string, KernelPart>;
  modules: ExtractedModule[];
}

export interface ExtractProgress {
  modules: number;
}

function part(kernels: Map<string, KernelPart>, release: string): KernelPart {
  let p = kernels.get(release);
  if (!p) kernels.set(release, (p = { release }));
  return p;
}

/**
 * Copies a view so the (large) buffer it points into can be freed. Not `slice()`: on a Buffer that is
 * another view of the same memory.
 */
const own = (bytes: Uint8Array | null): Uint8Array | null => (bytes ? new Uint8Array(bytes) : null);

/** Reads a package file and keeps only what btfwatch needs of it. */
export async function extractPackage(
  path: string,
  format: 'deb' | 'rpm',
  onProgress: (p: ExtractProgress) => void = () => undefined,
): Promise<ExtractedPackage> {
  return extractPackageStream(createReadStream(path), format, onProgress);
}

/**
 * Streams a package and keeps only what btfwatch needs of it. A stream that fails fails the extraction
 * (after the vmlinux decompressions it started have settled).
 */
export async function extractPackageStream(
  source: Readable,
  format: 'deb' | 'rpm',
  onProgress: (p: ExtractProgress) => void = () => undefined,
): Promise<ExtractedPackage> {
  const kernels = new Map<string, KernelPart>();
  const modules: ExtractedModule[] = [];
  // The vmlinux decompresses beside the archive stream instead of holding it up.
  const pending: Array<Promise<void>> = [];
  const onFile = async (file: PickedFile) => {
    const release = file.release;
    if (!release) return;
    switch (file.kind) {
      case 'vmlinuz': {
        const bytes = await file.read();
        const path = file.path;
        const done = readKernelImage(bytes).then((image) => {
          const p = part(kernels, release);
          p.vmlinuxBtf = own(image.btf);
          if (image.vmlinux) p.vmlinuxExports = readVmlinuxExports(image.vmlinux);
          p.image = {
            path,
            format: describeLayers(image.layers),
            littleEndian: image.littleEndian,
            arch: image.arch,
            banner: image.banner,
            release: image.release,
            noBtf: image.noBtf,
          };
        });
        done.catch(() => undefined);
        pending.push(done);
        break;
      }
      case 'config':
        part(kernels, release).configText = Buffer.from(await file.read()).toString('utf8');
        break;
      case 'symvers': {
        const raw = await file.read();
        const text =
          file.compression === 'gzip'
            ? gunzipSync(raw)
            : await decompressBuffer(raw, file.compression, {
                decoders: { xz: 'native' },
                maxOutputBytes: SYMVERS_MAX_BYTES,
                limitName: 'symvers',
                maxBufferedInput: SYMVERS_MAX_BYTES,
                what: file.path,
              });
        part(kernels, release).symversText = Buffer.from(text).toString('utf8');
        break;
      }
      case 'module': {
        const elf = await decompressModule(file.path, await file.read());
        const facts = readModuleFacts(file.path, elf);
        facts.btf = own(facts.btf);
        facts.btfBase = own(facts.btfBase);
        const inTree = file.path.includes(`/modules/${release}/kernel/`);
        modules.push({ path: file.path, release, inTree, facts });
        if (modules.length % 100 === 0) onProgress({ modules: modules.length });
        break;
      }
      default:
        break;
    }
  };
  try {
    if (format === 'deb') await readDeb(source, { onFile });
    else await readRpm(source, { onFile });
  } finally {
    await Promise.allSettled(pending);
  }
  await Promise.all(pending);
  onProgress({ modules: modules.length });
  return { kernels, modules };
}
