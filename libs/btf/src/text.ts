// How btfwatch turns kernel bytes (BTF names, kernel log lines) into text. The kernel prints names
// byte for byte; /dev/kmsg shows a byte it cannot print as "\xNN" (kernel/printk/printk.c,
// msg_add_ext_text). We keep every valid UTF-8 sequence as its character and write each other byte,
// and the backslash itself, as "\xNN" (lower-case hex): replacing "\xNN" by byte NN gives back
// exactly the bytes the kernel holds, and no two byte strings map to the same text.

const HEX = '0123456789abcdef';
const BACKSLASH = 0x5c;

function escaped(b: number): string {
  return `\\x${HEX[b >>> 4]}${HEX[b & 15]}`;
}

/** Length of the well-formed UTF-8 sequence starting at `i` (RFC 3629: no overlongs, surrogates, > U+10FFFF), or 0. */
function utf8Length(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i] as number;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => {
    if (i + j >= end) return false;
    const b = bytes[i + j] as number;
    return b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** `bytes[start, end)` as text: see the file comment. */
export function bytesToText(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b >= 0x80 || b === BACKSLASH) {
      plain = false;
      break;
    }
  }
  if (plain) {
    let out = '';
    // fromCharCode over chunks: an argument list has a size limit.
    for (let i = start; i < end; i += 4096) {
      out += String.fromCharCode.apply(
        null,
        bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
      );
    }
    return out;
  }
  let out = '';
  let i = start;
  while (i < end) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      out += b === BACKSLASH ? escaped(b) : String.fromCharCode(b);
      i++;
      continue;
    }
    const n = utf8Length(bytes, i, end);
    if (n === 0) {
      out += escaped(b);
      i++;
    } else {
      out += decoder.decode(bytes.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** A one-char-per-byte ("binary", latin1) string as text: see the file comment. */
export function binaryToText(binary: string): string {
  return bytesToText(Buffer.from(binary, 'latin1'));
}

/** The inverse of bytesToText: "\xNN" back to byte NN, characters to their UTF-8 bytes. */
export function textToBytes(text: string): Uint8Array {
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(/\\x([0-9a-f]{2})/g)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), Buffer.from([parseInt(m[1] as string, 16)]));
    last = (m.index as number) + 4;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}
