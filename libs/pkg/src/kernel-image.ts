import { ElfError, ElfFile } from '@btfwatch/elf';
import { findBanner, findBtfBlob } from './btf-blob.ts';
import { decompressBuffer, type Compression, type DecoderOptions } from './compression.ts';
import { PkgBadMagicError, PkgCorruptError, PkgError, PkgUnsupportedCompressionError } from './errors.ts';
import {
  isArm64Image,
  isArmZImage,
  isBzImage,
  isElf,
  isRiscvImage,
  isS390Image,
  readZbootHeader,
  type ImageFormat,
} from './image-headers.ts';
import { resolveLimits, type Limits } from './limits.ts';
import { payloadCandidates, validate } from './payload-scan.ts';
import { locateBzImagePayload } from './bzimage.ts';

export type { ImageFormat } from './image-headers.ts';

/** One container on the way from the file to the kernel: outermost first. */
export interface ImageLayer {
  format: ImageFormat;
  /** Size of this layer's bytes. */
  size: number;
  /** How the next layer is stored in this one; absent for the innermost. */
  payload?: { compression: Exclude<Compression, 'none'>; offset: number; length: number };
}

/** What a kernel image holds, as far as btfwatch needs it. */
export interface KernelImage {
  /** Containers from the file inward, e.g. efi-zboot (zstd) → arm64-image, or bzimage (xz) → elf. */
  layers: ImageLayer[];
  /** The vmlinux .BTF bytes — what the booted kernel serves at /sys/kernel/btf/vmlinux — or null. */
  btf: Uint8Array | null;
  /** Why `btf` is null: the kernel was built without BTF (no .BTF section, no BTF header in the image). */
  noBtf: string | null;
  /** Where the BTF was found: the ELF section, or the offset of its header in the innermost layer. */
  btfSource: { kind: 'elf-section' } | { kind: 'raw-header'; offset: number } | null;
  /** Byte order of the BTF (or, without BTF, of the vmlinux ELF); null when neither tells. */
  littleEndian: boolean | null;
  /** The `Linux version …` banner, from the innermost layer; null when the image has none. */
  banner: string | null;
  /** `uname -r` as the banner states it. */
  release: string | null;
  /** The vmlinux ELF, when the image yields one (bzImage payload, ppc64el vmlinux); null for raw images. */
  vmlinux: Uint8Array | null;
  /**
   * The innermost layer's bytes: the vmlinux ELF, or the raw kernel (decompressed where it was stored
   * compressed), for what else the kernel's own bytes tell (its compiled-in vermagic string).
   */
  kernel: Uint8Array;
  /**
   * The CPU architecture the kernel is built for, in Debian's names (amd64, i386, arm64, riscv64, s390x,
   * ppc64el, ppc64; `arm` for 32-bit ARM, where armhf and armel look alike), from the vmlinux ELF's
   * e_machine or the image's boot header; null when neither tells.
   */
  arch: string | null;
}

/** e_machine → Debian architecture (ppc64 by byte order). */
function elfArch(machine: number, littleEndian: boolean, elf64: boolean): string | null {
  switch (machine) {
    case 62:
      return 'amd64';
    case 3:
      return 'i386';
    case 183:
      return 'arm64';
    case 243:
      return elf64 ? 'riscv64' : null;
    case 22:
      return 's390x';
    case 21:
      return littleEndian ? 'ppc64el' : 'ppc64';
    case 40:
      return 'arm';
    default:
      return null;
  }
}

const RAW_ARCH: Partial<Record<ImageFormat, string>> = {
  'arm64-image': 'arm64',
  'riscv-image': 'riscv64',
  's390-image': 's390x',
  'arm-zimage': 'arm',
};

export interface ReadImageOptions {
  limits?: Partial<Limits>;
  decoders?: DecoderOptions;
}

/** Containers nest at most this deep (zboot → Image, bzImage → ELF, Image.gz → Image). */
const MAX_DEPTH = 3;
/**
 * Validated payload starts tried, at most, in an image that does not say where its payload is. Real
 * images need one: the validation rejects the false hits (s390 6.12: 3 zstd magics, 1 valid).
 */
const MAX_TRIES = 8;

/**
 * Reads a kernel image of any layout Debian, Ubuntu, Fedora and RHEL ship — x86 bzImage, arm64 and
 * riscv64 Image (PE-wrapped or not), Image.gz, EFI zboot, ARM zImage, s390 boot image, a vmlinux ELF
 * (32 or 64 bit, either byte order) — and returns its vmlinux BTF or why it has none. Deterministic and
 * bounded: headers say where payloads are; where none does (zImage, s390), only payload starts that
 * pass their format's header rules are decoded, first in file order. An image without BTF is
 * `btf: null` with `noBtf`, never an error; malformed input is a PkgError with a stable code.
 */
export async function readKernelImage(
  image: Uint8Array,
  options: ReadImageOptions = {},
): Promise<KernelImage> {
  const limits = resolveLimits(options.limits);
  const layers: ImageLayer[] = [];
  let bytes = image;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (isElf(bytes)) {
      layers.push({ format: 'elf', size: bytes.length });
      return fromElf(bytes, layers);
    }
    // Only the file itself may be searched for a payload: what came out of a payload is the kernel.
    const next = await unwrap(bytes, depth === 0, limits, options.decoders);
    if (next === null) {
      if (findBanner(bytes) !== null) {
        layers.push({ format: 'raw', size: bytes.length });
        return fromRaw(bytes, layers);
      }
      if (depth === 0)
        throw new PkgBadMagicError(
          'kernel image: not an ELF, no boot header we know, no compressed payload found',
        );
      throw new PkgCorruptError(
        `kernel image: the ${layers.at(-1)!.format} payload decompresses to ${bytes.length} bytes that are no ELF and no kernel image (no header, no Linux banner)`,
      );
    }
    layers.push(next.layer);
    if (next.inner === null) return fromRaw(bytes, layers);
    bytes = next.inner;
  }
  throw new PkgCorruptError(`kernel image: containers nested deeper than ${MAX_DEPTH}`);
}

interface Unwrapped {
  layer: ImageLayer;
  /** The next layer's bytes; null when `bytes` is itself the (uncompressed) kernel. */
  inner: Uint8Array | null;
}

/** One layer down, or null when `bytes` is no container we know. */
async function unwrap(
  bytes: Uint8Array,
  scan: boolean,
  limits: Limits,
  decoders: DecoderOptions | undefined,
): Promise<Unwrapped | null> {
  if (isBzImage(bytes)) {
    const p = locateBzImagePayload(bytes);
    if (p) {
      const inner = await decode(bytes, p.compression, p.offset, p.length, limits, decoders, {
        sizeHint: p.decompressedSize,
        trailingAllowed: false,
      });
      if (p.decompressedSize !== null && inner.length !== p.decompressedSize) {
        throw new PkgCorruptError(
          `bzImage: payload decompressed to ${inner.length} bytes, the image says ${p.decompressedSize}`,
        );
      }
      return { layer: layer('bzimage', bytes, p.compression, p.offset, p.length), inner };
    }
  }
  const zboot = readZbootHeader(bytes);
  if (zboot) {
    if (!zboot.compression)
      throw new PkgUnsupportedCompressionError(
        `EFI zboot: payload compressed with "${zboot.compressionName}"`,
      );
    const { payloadOffset: offset, payloadSize: length } = zboot;
    if (offset + length > bytes.length || length === 0)
      throw new PkgCorruptError(
        `EFI zboot: payload ${offset}+${length} outside the ${bytes.length}-byte image`,
      );
    const inner = await decode(bytes, zboot.compression, offset, length, limits, decoders);
    return { layer: layer('efi-zboot', bytes, zboot.compression, offset, length), inner };
  }
  if (isArm64Image(bytes)) return { layer: { format: 'arm64-image', size: bytes.length }, inner: null };
  if (isRiscvImage(bytes)) return { layer: { format: 'riscv-image', size: bytes.length }, inner: null };
  const whole = payloadCandidates(bytes, 0, Math.min(bytes.length, 4), 1)[0];
  if (whole) {
    const length = whole.length ?? bytes.length;
    const inner = await decode(bytes, whole.compression, 0, length, limits, decoders);
    return { layer: layer('compressed', bytes, whole.compression, 0, length), inner };
  }
  if (!scan) return null;
  const format: ImageFormat | null = isArmZImage(bytes)
    ? 'arm-zimage'
    : isS390Image(bytes)
      ? 's390-image'
      : null;
  return scanPayload(bytes, format, limits, decoders);
}

/**
 * A payload nothing points at: decode the validated candidates in file order, keep the first that
 * yields a kernel (an ELF, a known image header, or the Linux banner). Null when `bytes` has none, or
 * none decodes and `format` says nothing: not a container.
 */
async function scanPayload(
  bytes: Uint8Array,
  format: ImageFormat | null,
  limits: Limits,
  decoders: DecoderOptions | undefined,
): Promise<Unwrapped | null> {
  const candidates = payloadCandidates(bytes, 0, bytes.length, MAX_TRIES);
  let lastError: unknown = null;
  for (const c of candidates) {
    let inner: Uint8Array;
    try {
      inner = await decode(
        bytes,
        c.compression,
        c.offset,
        c.length ?? bytes.length - c.offset,
        limits,
        decoders,
      );
    } catch (err) {
      if (err instanceof PkgError && err.code === 'PKG_LIMIT_EXCEEDED') throw err;
      lastError = err;
      continue;
    }
    if (!looksLikeKernel(inner)) continue;
    return {
      layer: layer(format ?? 'raw', bytes, c.compression, c.offset, c.length ?? bytes.length - c.offset),
      inner,
    };
  }
  if (format !== null) {
    const detail =
      candidates.length === 0
        ? 'no compressed payload'
        : `none of ${candidates.length} payload starts decodes to a kernel`;
    throw new PkgCorruptError(`${format}: ${detail}`, { cause: lastError });
  }
  if (candidates.length > 0 && findBanner(bytes) === null) {
    throw new PkgCorruptError(
      `kernel image: none of ${candidates.length} compressed payload starts decodes to a kernel`,
      { cause: lastError },
    );
  }
  return null;
}

function looksLikeKernel(b: Uint8Array): boolean {
  return isElf(b) || isArm64Image(b) || isRiscvImage(b) || findBanner(b) !== null;
}

function layer(
  format: ImageFormat,
  bytes: Uint8Array,
  compression: Exclude<Compression, 'none'>,
  offset: number,
  length: number,
): ImageLayer {
  return { format, size: bytes.length, payload: { compression, offset, length } };
}

async function decode(
  bytes: Uint8Array,
  compression: Exclude<Compression, 'none'>,
  offset: number,
  length: number,
  limits: Limits,
  decoders: DecoderOptions | undefined,
  { sizeHint = null, trailingAllowed = true }: { sizeHint?: number | null; trailingAllowed?: boolean } = {},
): Promise<Uint8Array> {
  // A zstd frame is walked to its exact end: decoders reject the padding and size words images append.
  let end = offset + length;
  if (compression === 'zstd') {
    const frame = validate(bytes, offset, 'zstd');
    if (typeof frame === 'number' && frame <= length) end = offset + frame;
  }
  return decompressBuffer(bytes.subarray(offset, end), compression, {
    decoders,
    maxOutputBytes: limits.maxVmlinuxBytes,
    limitName: 'maxVmlinuxBytes',
    maxBufferedInput: limits.maxVmlinuxBytes,
    what: `kernel image ${compression} payload at ${offset}`,
    sizeHint: sizeHint ?? 0,
    trailingAllowed,
  });
}

function releaseOf(banner: string | null): string | null {
  return banner ? (/^Linux version (\S+)/.exec(banner)?.[1] ?? null) : null;
}

function fromElf(vmlinux: Uint8Array, layers: ImageLayer[]): KernelImage {
  let btf: Uint8Array | undefined;
  let littleEndian: boolean;
  let arch: string | null;
  try {
    const elf = ElfFile.parse(vmlinux);
    littleEndian = elf.header.littleEndian;
    arch = elfArch(elf.header.machine, littleEndian, elf.header.class === 64);
    btf = elf.sectionDataByName('.BTF');
  } catch (err) {
    if (err instanceof ElfError)
      throw new PkgCorruptError(`vmlinux ELF: ${err.message} (${err.code})`, { cause: err });
    throw err;
  }
  const banner = findBanner(vmlinux);
  const has = btf !== undefined && btf.byteLength > 0;
  return {
    layers,
    btf: has ? btf! : null,
    noBtf: has
      ? null
      : btf === undefined
        ? 'the vmlinux ELF has no .BTF section'
        : 'the vmlinux .BTF section is empty',
    btfSource: has ? { kind: 'elf-section' } : null,
    littleEndian,
    banner,
    release: releaseOf(banner),
    vmlinux,
    kernel: vmlinux,
    arch,
  };
}

function fromRaw(bytes: Uint8Array, layers: ImageLayer[]): KernelImage {
  const scan = findBtfBlob(bytes);
  const banner = findBanner(bytes);
  const found = scan.found;
  const inner = layers.at(-1)!.format;
  return {
    layers,
    btf: found ? bytes.subarray(found.offset, found.offset + found.length) : null,
    noBtf: found
      ? null
      : `no BTF header in the ${bytes.length}-byte ${inner === 'raw' ? 'kernel' : inner} (${scan.hits} magic hits, none a vmlinux BTF)`,
    btfSource: found ? { kind: 'raw-header', offset: found.offset } : null,
    littleEndian: found ? found.header.littleEndian : null,
    banner,
    release: releaseOf(banner),
    vmlinux: null,
    kernel: bytes,
    arch: layers.map((l) => RAW_ARCH[l.format]).find((a) => a !== undefined) ?? null,
  };
}

/** "efi-zboot (zstd) → arm64-image": the layers for humans. */
export function describeLayers(layers: readonly ImageLayer[]): string {
  return layers.map((l) => (l.payload ? `${l.format} (${l.payload.compression})` : l.format)).join(' → ');
}
