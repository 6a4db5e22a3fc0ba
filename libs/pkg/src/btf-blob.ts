// Finding the vmlinux BTF in a kernel image that is not an ELF (arm64/riscv64 Image, s390 and ARM raw
// images): the linker put the .BTF section's bytes somewhere in the image, between __start_BTF and
// __stop_BTF, and nothing points at it. Its header does: magic 0xeb9f in the kernel's byte order,
// version 1, no flags, and sections that tile the data after the header exactly — what the kernel's
// own btf_check_sec_info demands of its vmlinux BTF at boot — with a string section that starts and
// ends with NUL. One pass over the magic's occurrences, no decoding.

import {
  BTF_HEADER_SIZE,
  BTF_LAYOUT_HEADER_SIZE,
  BTF_MAGIC,
  BTF_VERSION,
  HDR,
  type BtfHeader,
} from '@btfwatch/btf';
import { PkgTruncatedError } from './errors.ts';

export interface FoundBtf {
  offset: number;
  length: number;
  header: BtfHeader;
}

export interface BtfScan {
  /** The blob, when exactly one header passes; the largest when several do (never seen in a real image). */
  found: FoundBtf | null;
  /** Offsets whose bytes pass every header check. */
  valid: number[];
  /** Occurrences of the 4-byte magic+version+flags pattern, either order. */
  hits: number;
}

/** Scans `bytes` for BTF headers in both byte orders. Throws PKG_TRUNCATED for a strong header cut by the end. */
export function findBtfBlob(bytes: Uint8Array): BtfScan {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const valid: FoundBtf[] = [];
  let hits = 0;
  for (const littleEndian of [true, false]) {
    const magic = littleEndian ? [BTF_MAGIC & 0xff, BTF_MAGIC >>> 8] : [BTF_MAGIC >>> 8, BTF_MAGIC & 0xff];
    const needle = Buffer.from([...magic, BTF_VERSION, 0]);
    for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) {
      hits++;
      const found = checkHeader(bytes, at, littleEndian);
      if (found) valid.push(found);
    }
  }
  valid.sort((a, b) => b.length - a.length || a.offset - b.offset);
  return { found: valid[0] ?? null, valid: valid.map((v) => v.offset).sort((a, b) => a - b), hits };
}

function checkHeader(bytes: Uint8Array, at: number, littleEndian: boolean): FoundBtf | null {
  if (at + BTF_HEADER_SIZE > bytes.length) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, bytes.length - at);
  const u32 = (o: number) => view.getUint32(o, littleEndian);
  const hdrLen = u32(HDR.hdrLen);
  if (hdrLen !== BTF_HEADER_SIZE && hdrLen !== BTF_LAYOUT_HEADER_SIZE) return null;
  if (at + hdrLen > bytes.length) return null;
  const header: BtfHeader = {
    magic: BTF_MAGIC,
    version: BTF_VERSION,
    flags: 0,
    hdrLen,
    typeOff: u32(HDR.typeOff),
    typeLen: u32(HDR.typeLen),
    strOff: u32(HDR.strOff),
    strLen: u32(HDR.strLen),
    layoutOff: hdrLen === BTF_LAYOUT_HEADER_SIZE ? u32(HDR.layoutOff) : 0,
    layoutLen: hdrLen === BTF_LAYOUT_HEADER_SIZE ? u32(HDR.layoutLen) : 0,
    littleEndian,
  };
  const sections = [
    { off: header.typeOff, len: header.typeLen },
    { off: header.strOff, len: header.strLen },
  ];
  if (header.layoutLen !== 0) sections.push({ off: header.layoutOff, len: header.layoutLen });
  sections.sort((a, b) => a.off - b.off);
  // Sections must tile [0, total) with no gap: the kernel refuses anything else for its own BTF.
  let total = 0;
  for (const s of sections) {
    if (s.off !== total) return null;
    total += s.len;
  }
  if (header.typeLen === 0 || header.typeLen % 4 !== 0 || header.strLen === 0) return null;
  const length = hdrLen + total;
  // The 24 bytes checked so far could still be chance; a header this consistent whose blob runs past
  // the end is a cut image, not an image without BTF.
  if (at + length > bytes.length) {
    if (header.typeOff === 0 && header.strOff === header.typeLen) {
      throw new PkgTruncatedError(
        `BTF header at ${at} declares ${length} bytes, the image ends ${bytes.length - at} bytes after it`,
      );
    }
    return null;
  }
  const strStart = at + hdrLen + header.strOff;
  if (bytes[strStart] !== 0 || bytes[strStart + header.strLen - 1] !== 0) return null;
  return { offset: at, length, header };
}

/**
 * The kernel's `Linux version …` banner (init/version.c linux_banner), up to its newline or NUL. An
 * image may hold two (a placeholder without the build number, and the real one with `#1`): the one
 * with a build number wins. Null when there is none.
 */
export function findBanner(bytes: Uint8Array): string | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from('Linux version ');
  let first: string | null = null;
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) {
    const line = buf
      .subarray(at, at + 512)
      .toString('latin1')
      .split(/[\0\n]/)[0]!;
    if (!/^Linux version \d+\.\d+\S* /.test(line)) continue;
    if (/ #\d+/.test(line)) return line;
    first ??= line;
  }
  return first;
}
