import { detectCompression, type Compression } from './compression.ts';
import { PkgCorruptError, PkgTruncatedError, PkgUnsupportedCompressionError } from './errors.ts';

/** Where a kernel image keeps its compressed vmlinux. */
export interface VmlinuzPayload {
  /** Found by the x86 setup header. */
  source: 'bzimage';
  compression: Exclude<Compression, 'none'>;
  /** Offset and length of the compressed bytes in the image (for `bzimage`, without the size trailer). */
  offset: number;
  length: number;
  /** The decompressed size the x86 build appends after the payload; null when unknown. */
  decompressedSize: number | null;
}

// x86 boot protocol offsets (Documentation/arch/x86/boot.rst, arch/x86/boot/header.S).
const SETUP_SECTS = 0x1f1;
const BOOT_FLAG = 0x1fe;
const HEADER_MAGIC = 0x202;
const PROTOCOL_VERSION = 0x206;
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
/** payload_offset/payload_length exist from boot protocol 2.08 on. */
const MIN_PROTOCOL_WITH_PAYLOAD = 0x0208;

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
