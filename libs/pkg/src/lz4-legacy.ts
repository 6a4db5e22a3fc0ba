import { PkgCorruptError, PkgLimitExceededError, PkgTruncatedError } from './errors.ts';

/** `lz4 -l` output (what the kernel's CONFIG_KERNEL_LZ4 uses): magic, then [LE32 size, block]... */
const LEGACY_MAGIC = 0x184c2102;
/** Every legacy block decodes to at most 8 MiB (lz4's LEGACY_BLOCKSIZE; the kernel's unlz4 agrees). */
const LEGACY_BLOCK_MAX = 8 * 1024 * 1024;
const MIN_MATCH = 4;

/**
 * Decodes an LZ4 legacy stream. Our own bounds-checked block decoder rather than lz4js: frame APIs
 * reject the legacy format, and lz4js' block decoder trusts its input (out-of-range offsets and
 * lengths run on silently), which hostile input must not get.
 *
 * A 4-byte field equal to the magic starts a new concatenated stream, as in the kernel's unlz4.
 */
export function decodeLz4Legacy(
  src: Uint8Array,
  maxOutputBytes: number,
  what: string,
  sizeHint = 0,
): Uint8Array {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (src.length < 4 || view.getUint32(0, true) !== LEGACY_MAGIC) {
    throw new PkgCorruptError(`${what}: not an LZ4 legacy stream`);
  }
  let out = new Uint8Array(Math.min(maxOutputBytes, Math.max(sizeHint, 1 << 20)));
  let d = 0;
  let s = 4;
  while (s < src.length) {
    if (src.length - s < 4) throw new PkgTruncatedError(`${what}: LZ4 block size field cut at ${s}`);
    const size = view.getUint32(s, true);
    s += 4;
    if (size === LEGACY_MAGIC) continue;
    if (size === 0 || size > LEGACY_BLOCK_MAX + (LEGACY_BLOCK_MAX >>> 8) + 16) {
      throw new PkgCorruptError(`${what}: LZ4 block at ${s - 4} has implausible size ${size}`);
    }
    if (size > src.length - s)
      throw new PkgTruncatedError(`${what}: LZ4 block at ${s - 4} needs ${size} bytes`);
    if (out.length - d < LEGACY_BLOCK_MAX) {
      if (d >= maxOutputBytes) {
        throw new PkgLimitExceededError(
          'maxOutputBytes',
          `${what}: LZ4 output exceeds ${maxOutputBytes} bytes`,
        );
      }
      const grown = new Uint8Array(Math.min(maxOutputBytes, Math.max(out.length * 2, d + LEGACY_BLOCK_MAX)));
      grown.set(out.subarray(0, d));
      out = grown;
    }
    const limit = Math.min(out.length, d + LEGACY_BLOCK_MAX);
    const capped = limit < d + LEGACY_BLOCK_MAX;
    d = decodeBlock(src, s, s + size, out, d, limit, what, capped ? maxOutputBytes : -1);
    s += size;
  }
  return out.subarray(0, d);
}

/** One LZ4 block: sequences of [token, literals, offset, match] within src[s, end) into out[d, limit). */
function decodeBlock(
  src: Uint8Array,
  s: number,
  end: number,
  out: Uint8Array,
  d: number,
  limit: number,
  what: string,
  /** When ≥ 0, `limit` is the caller's output cap, not the block size: overflowing it is a limit. */
  cap: number,
): number {
  const blockStart = d;
  const overflow = (why: string): Error =>
    cap >= 0
      ? new PkgLimitExceededError('maxOutputBytes', `${what}: LZ4 output exceeds ${cap} bytes`)
      : new PkgCorruptError(`${what}: LZ4 block corrupt at ${s}: ${why}`);
  const corrupt = (why: string): PkgCorruptError =>
    new PkgCorruptError(`${what}: LZ4 block corrupt at ${s}: ${why}`);
  for (;;) {
    if (s >= end) throw corrupt('block ends without a final literal run');
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('literal length runs past the block');
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > end - s) throw corrupt('literals run past the block');
    if (literals > limit - d) throw overflow('literals overflow the 8 MiB block');
    out.set(src.subarray(s, s + literals), d);
    s += literals;
    d += literals;
    if (s === end) return d;
    if (end - s < 2) throw corrupt('match offset cut');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d - blockStart) throw corrupt(`match offset ${offset} out of range`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('match length runs past the block');
        b = src[s++]!;
        length += b;
      } while (b === 255);
    }
    length += MIN_MATCH;
    if (length > limit - d) throw overflow('match overflows the 8 MiB block');
    let from = d - offset;
    if (offset >= length) {
      out.copyWithin(d, from, from + length);
      d += length;
    } else {
      // Overlapping copy repeats the last `offset` bytes.
      const stop = d + length;
      while (d < stop) out[d++] = out[from++]!;
    }
  }
}
