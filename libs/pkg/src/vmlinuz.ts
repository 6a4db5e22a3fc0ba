import {
  decompressBuffer,
  detectCompression,
  hasMagic,
  type Compression,
  type DecoderOptions,
} from './compression.ts';
import {
  PkgBadMagicError,
  PkgCorruptError,
  PkgError,
  PkgTruncatedError,
  PkgUnsupportedCompressionError,
} from './errors.ts';
import { resolveLimits, type Limits } from './limits.ts';

/** Where a kernel image keeps its compressed vmlinux. */
export interface VmlinuzPayload {
  /** `elf`: the image already is a vmlinux; `bzimage`: found by the x86 setup header; `scan`: by magic. */
  source: 'elf' | 'bzimage' | 'scan';
  compression: Compression;
  /** Offset and length of the compressed bytes in the image (for `bzimage`, without the size trailer). */
  offset: number;
  length: number;
  /** The decompressed size the x86 build appends after the payload; null when unknown. */
  decompressedSize: number | null;
}

export interface ExtractOptions {
  limits?: Partial<Limits>;
  decoders?: DecoderOptions;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

// x86 boot protocol offsets (Documentation/arch/x86/boot.rst, arch/x86/boot/header.S).
const SETUP_SECTS = 0x1f1;
const BOOT_FLAG = 0x1fe;
const HEADER_MAGIC = 0x202;
const PROTOCOL_VERSION = 0x206;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
/** payload_offset/payload_length exist from boot protocol 2.08 on. */
const MIN_PROTOCOL_WITH_PAYLOAD = 0x0208;

function isElf(bytes: Uint8Array, offset = 0): boolean {
  return ELF_MAGIC.every((b, i) => bytes[offset + i] === b);
}

/**
 * Finds the compressed vmlinux in an x86 bzImage from its setup header. The kernel build
 * (arch/x86/boot/compressed/Makefile, `size_append`) appends the decompressed size as LE32 after
 * the compressed stream and counts it in payload_length; it is split off here, because decoders
 * reject it as trailing garbage. Null when the image has no usable setup header.
 */
export function locateBzImagePayload(image: Uint8Array): VmlinuzPayload | null {
  if (image.length < PAYLOAD_LENGTH + 4) return null;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (view.getUint16(BOOT_FLAG, true) !== 0xaa55) return null;
  if (view.getUint32(HEADER_MAGIC, true) !== 0x53726448 /* "HdrS" */) return null;
  if (view.getUint16(PROTOCOL_VERSION, true) < MIN_PROTOCOL_WITH_PAYLOAD) return null;
  // setup_sects 0 means 4, for images older than the field (boot.rst).
  const setupSects = image[SETUP_SECTS]! || 4;
  const pmStart = (setupSects + 1) * 512;
  const offset = pmStart + view.getUint32(PAYLOAD_OFFSET, true);
  const total = view.getUint32(PAYLOAD_LENGTH, true);
  if (total < 8) throw new PkgCorruptError(`bzImage: payload_length ${total} is too small`);
  if (offset + total > image.length) {
    throw new PkgTruncatedError(
      `bzImage: payload ${offset}+${total} runs past the image end (${image.length})`,
    );
  }
  const length = total - 4;
  const decompressedSize = view.getUint32(offset + length, true);
  const compression = detectCompression(image.subarray(offset, offset + Math.min(length, 8)));
  if (compression === null) {
    const head = Buffer.from(image.subarray(offset, offset + 4)).toString('hex');
    throw new PkgUnsupportedCompressionError(
      `bzImage: payload starts with ${head}, no supported compression`,
    );
  }
  return { source: 'bzimage', compression, offset, length, decompressedSize };
}

/**
 * Decompresses the vmlinux ELF out of a kernel image: an x86 bzImage (setup header), an image
 * whose payload can only be found by scanning for compression magics (gzip, xz, zstd, LZ4 legacy,
 * bzip2, lzma), or an already uncompressed vmlinux (returned as is). The result always is an ELF.
 */
export async function extractVmlinux(image: Uint8Array, options: ExtractOptions = {}): Promise<Uint8Array> {
  const limits = resolveLimits(options.limits);
  if (isElf(image)) return image;
  const payload = locateBzImagePayload(image);
  if (payload !== null) {
    const out = await decodePayload(image, payload, limits, options.decoders, false);
    if (out.length !== payload.decompressedSize) {
      throw new PkgCorruptError(
        `bzImage: payload decompressed to ${out.length} bytes, the image says ${payload.decompressedSize}`,
      );
    }
    if (!isElf(out)) throw new PkgCorruptError('bzImage: payload does not decompress to an ELF');
    return out;
  }
  return scanForVmlinux(image, limits, options.decoders);
}

async function decodePayload(
  image: Uint8Array,
  payload: VmlinuzPayload,
  limits: Limits,
  decoders: DecoderOptions | undefined,
  trailingAllowed: boolean,
): Promise<Uint8Array> {
  return decompressBuffer(
    image.subarray(payload.offset, payload.offset + payload.length),
    payload.compression,
    {
      decoders,
      maxOutputBytes: limits.maxVmlinuxBytes,
      limitName: 'maxVmlinuxBytes',
      maxBufferedInput: limits.maxVmlinuxBytes,
      what: `vmlinuz ${payload.compression} payload at ${payload.offset}`,
      sizeHint: payload.decompressedSize ?? 0,
      trailingAllowed,
    },
  );
}

const SCAN_ORDER: ReadonlyArray<Exclude<Compression, 'none'>> = [
  'gzip',
  'xz',
  'zstd',
  'lz4',
  'bzip2',
  'lzma',
];

/**
 * No setup header: try every offset where a compression magic starts, in file order, and keep the
 * first one that decompresses to an ELF (the approach of the kernel's scripts/extract-vmlinux).
 */
async function scanForVmlinux(
  image: Uint8Array,
  limits: Limits,
  decoders: DecoderOptions | undefined,
): Promise<Uint8Array> {
  let lastError: unknown = null;
  let candidates = 0;
  for (let off = 0; off + 4 <= image.length; off++) {
    const b = image[off];
    if (b !== 0x1f && b !== 0xfd && b !== 0x28 && b !== 0x02 && b !== 0x42 && b !== 0x5d) continue;
    for (const compression of SCAN_ORDER) {
      if (!hasMagic(image, off, compression)) continue;
      candidates++;
      try {
        const out = await decodePayload(
          image,
          { source: 'scan', compression, offset: off, length: image.length - off, decompressedSize: null },
          limits,
          decoders,
          true,
        );
        if (isElf(out)) return out;
      } catch (err) {
        // A false magic hit fails to decode; a limit is final.
        if (err instanceof PkgError && err.code === 'PKG_LIMIT_EXCEEDED') throw err;
        lastError = err;
      }
    }
  }
  if (candidates === 0)
    throw new PkgBadMagicError('kernel image: not an ELF, no bzImage header, no compressed payload found');
  throw new PkgCorruptError(
    `kernel image: none of ${candidates} compressed candidates decompresses to an ELF`,
    {
      cause: lastError,
    },
  );
}
