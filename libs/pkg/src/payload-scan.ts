// Where a compressed kernel payload can start inside an image that does not say where it keeps it
// (ARM zImage, s390 boot image, unknown layouts). A magic alone is weak: an image holds hundreds of
// false hits (decoder tables, code, the BTF's own strings), and trying to decompress each costs seconds.
// Every hit is held against its format's header rules first, which almost no false hit passes.

import { crc32 } from 'node:zlib';
import { compressionMagic, hasMagic, type Compression } from './compression.ts';

export type StreamCompression = Exclude<Compression, 'none'>;

export interface PayloadCandidate {
  offset: number;
  compression: StreamCompression;
  /** Exact length of the compressed stream where the format tells it (zstd); null: decode to its end. */
  length: number | null;
}

const u32le = (b: Uint8Array, at: number) =>
  ((b[at] as number) |
    ((b[at + 1] as number) << 8) |
    ((b[at + 2] as number) << 16) |
    ((b[at + 3] as number) << 24)) >>>
  0;
const ORDER: readonly StreamCompression[] = ['gzip', 'xz', 'zstd', 'lz4', 'bzip2', 'lzma'];

/**
 * Validated stream starts in `bytes[from, to)`, in file order, at most `max` of them. Each passed the
 * header checks of its format (see `validate`); what remains is for a decoder to confirm.
 */
export function payloadCandidates(
  bytes: Uint8Array,
  from = 0,
  to = bytes.length,
  max = Number.POSITIVE_INFINITY,
): PayloadCandidate[] {
  // Each format's magic found by Buffer.indexOf (native speed on multi-MB images), merged in file order.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: PayloadCandidate[] = [];
  for (const compression of ORDER) {
    const magic = Buffer.from(compressionMagic(compression));
    let found = 0;
    for (let off = buf.indexOf(magic, from); off >= 0 && off + 4 <= to; off = buf.indexOf(magic, off + 1)) {
      if (!hasMagic(bytes, off, compression)) continue;
      const length = validate(bytes, off, compression);
      if (length === false) continue;
      out.push({ offset: off, compression, length });
      // Beyond `max` of one format none of its later hits can be among the first `max` overall.
      if (++found >= max) break;
    }
  }
  // One start per offset (the first format in ORDER that validates), the first `max` in file order.
  out.sort((a, b) => a.offset - b.offset || ORDER.indexOf(a.compression) - ORDER.indexOf(b.compression));
  const seen = new Set<number>();
  return out.filter((c) => !seen.has(c.offset) && seen.add(c.offset)).slice(0, max);
}

/** false when the header breaks its format's rules; otherwise the stream length when known, or null. */
export function validate(
  bytes: Uint8Array,
  off: number,
  compression: StreamCompression,
): number | null | false {
  switch (compression) {
    case 'gzip':
      return gzipHeaderOk(bytes, off) ? null : false;
    case 'xz':
      return xzHeaderOk(bytes, off) ? null : false;
    case 'zstd':
      return zstdFrameLength(bytes, off) ?? false;
    case 'lz4':
      return lz4LegacyOk(bytes, off) ? null : false;
    case 'bzip2':
      return bzip2Ok(bytes, off) ? null : false;
    case 'lzma':
      return lzmaAloneOk(bytes, off) ? null : false;
  }
}

/** RFC 1952: method 8 (checked by the magic), no reserved flag bits, XFL 0, 2 or 4, a known OS byte. */
function gzipHeaderOk(b: Uint8Array, off: number): boolean {
  if (off + 10 > b.length) return false;
  const flags = b[off + 3] as number;
  const xfl = b[off + 8] as number;
  const os = b[off + 9] as number;
  return (flags & 0xe0) === 0 && (xfl === 0 || xfl === 2 || xfl === 4) && (os <= 13 || os === 255);
}

/** xz file format 1.0.4 §2.1.1: stream flags 0x00 0x0N and their CRC32. */
function xzHeaderOk(b: Uint8Array, off: number): boolean {
  if (off + 12 > b.length) return false;
  if (b[off + 6] !== 0 || (b[off + 7] as number) > 0x0f) return false;
  const crc = crc32(b.subarray(off + 6, off + 8));
  return crc === u32le(b, off + 8);
}

/** LZ4 legacy (`lz4 -l`, what the kernel writes): blocks of at most LZ4_compressBound(8 MiB). */
function lz4LegacyOk(b: Uint8Array, off: number): boolean {
  if (off + 8 > b.length) return false;
  const size = u32le(b, off + 4);
  return size > 0 && size <= 8 * 1024 * 1024 + (8 * 1024 * 1024) / 255 + 16 && off + 8 + size <= b.length;
}

/** "BZh1".."BZh9" followed by a block header (π) or the end-of-stream marker (√π). */
function bzip2Ok(b: Uint8Array, off: number): boolean {
  if (off + 10 > b.length) return false;
  const level = b[off + 3] as number;
  if (level < 0x31 || level > 0x39) return false;
  const block = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
  const eos = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
  const at = (m: number[]) => m.every((v, i) => b[off + 4 + i] === v);
  return at(block) || at(eos);
}

/** lzma-alone: props 0x5d (lc 3 lp 0 pb 2), a 2^n or 3·2^(n-1) dictionary ≥ 4 KiB, a plausible size. */
function lzmaAloneOk(b: Uint8Array, off: number): boolean {
  if (off + 13 > b.length) return false;
  const dict = u32le(b, off + 1);
  if (dict < 4096) return false;
  const pow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (!pow2(dict) && !(dict % 3 === 0 && pow2(dict / 3))) return false;
  // Uncompressed size: unknown (all ones) or below 2^40.
  let unknown = true;
  for (let i = 5; i < 13; i++) if (b[off + i] !== 0xff) unknown = false;
  return unknown || (b[off + 10] === 0 && b[off + 11] === 0 && b[off + 12] === 0);
}

/**
 * The byte length of the zstd frame at `off` (RFC 8878 §3.1.1), walked through its block headers
 * without decoding; undefined when the headers are not those of a frame that fits in `b`. Knowing the
 * length lets a decoder ignore what follows (kernel images pad and trail their payload).
 */
export function zstdFrameLength(b: Uint8Array, off: number): number | undefined {
  let p = off + 4;
  if (p >= b.length) return undefined;
  const fhd = b[p++] as number;
  if (fhd & 0x08) return undefined; // reserved bit
  const fcsFlag = fhd >>> 6;
  const single = (fhd & 0x20) !== 0;
  const checksum = (fhd & 0x04) !== 0;
  const didSize = [0, 1, 2, 4][fhd & 3] as number;
  const fcsSize = [single ? 1 : 0, 2, 4, 8][fcsFlag] as number;
  let windowSize = 0;
  if (!single) {
    if (p >= b.length) return undefined;
    const wd = b[p++] as number;
    const exponent = wd >>> 3;
    if (exponent > 31 - 10) return undefined; // beyond any window a decoder accepts
    const base = 2 ** (10 + exponent);
    windowSize = base + (base / 8) * (wd & 7);
  }
  p += didSize + fcsSize;
  const maxBlock = single ? 128 * 1024 : Math.min(windowSize, 128 * 1024);
  for (;;) {
    if (p + 3 > b.length) return undefined;
    const h = (b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16);
    p += 3;
    const last = (h & 1) === 1;
    const type = (h >>> 1) & 3;
    const size = h >>> 3;
    if (type === 3) return undefined;
    if (size > 128 * 1024 || (type === 2 && size > maxBlock)) return undefined;
    p += type === 1 ? 1 : size;
    if (p > b.length) return undefined;
    if (last) break;
  }
  if (checksum) p += 4;
  return p <= b.length ? p - off : undefined;
}
