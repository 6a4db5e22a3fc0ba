import type { KernelBtfFeatures } from './features.ts';

// The kernel's <linux/ctype.h> classifies Latin-1, not just ASCII (lib/ctype.c): 0xC0–0xFF are letters
// except 0xD7 and 0xF7, 0xA0 is a space and 0xA1–0xBF punctuation. Names are checked byte by byte.
function isUpper(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0xc0 && c <= 0xde && c !== 0xd7);
}
function isLower(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0xdf && c <= 0xff && c !== 0xf7);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isAlpha(c: number): boolean {
  return isUpper(c) || isLower(c);
}
/** isprint: punctuation, letters, digits, and the two "hard spaces" 0x20 and 0xA0. */
export function isPrint(c: number): boolean {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff);
}

/** Byte `i` of a C string, reading NUL past the end of the table (the kernel's string section ends in NUL). */
function at(s: Uint8Array, i: number): number {
  return s[i] ?? 0;
}

// Each check takes the string table and the string's index in it (no per-name view: this runs for
// every name of every module of a package).

/** Per byte: may start an identifier (letter, '_'), may continue one (letter, digit, '_'). */
const STARTS = 1;
const CONTINUES = 2;
const IDENT_CLASS = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) {
    if (isAlpha(c) || c === 0x5f) table[c] = STARTS | CONTINUES;
    else if (isDigit(c)) table[c] = CONTINUES;
  }
  return table;
})();

/** __btf_name_valid / btf_name_valid_identifier: a C identifier shorter than KSYM_NAME_LEN. */
export function validIdentifier(
  s: Uint8Array,
  features: KernelBtfFeatures,
  dotOk = features.identifierDots,
  start = 0,
): boolean {
  // Bytes past the table read as the NUL the kernel's section ends with.
  const end = s.length;
  const first = start < end ? (s[start] as number) : 0;
  if (((IDENT_CLASS[first] as number) & STARTS) === 0 && !(first === 0x2e && dotOk)) return false;
  for (let i = 1; ; i++) {
    const c = start + i < end ? (s[start + i] as number) : 0;
    if (c === 0) return true;
    if (i >= features.ksymNameLen) return false;
    if (((IDENT_CLASS[c] as number) & CONTINUES) === 0 && !(c === 0x2e && dotOk)) return false;
  }
}

/** VAR names: dots were always allowed (5.x passed dot_ok=true; later the identifier rule allows them). */
export function validVarName(s: Uint8Array, features: KernelBtfFeatures, start = 0): boolean {
  return validIdentifier(s, features, true, start);
}

/** btf_name_valid_section: DATASEC names. */
export function validSectionName(s: Uint8Array, features: KernelBtfFeatures, start = 0): boolean {
  if (features.sectionNames === 'identifier') return validIdentifier(s, features, true, start);
  let i = 0;
  if (features.sectionNames === 'printable') {
    if (at(s, start) === 0) return false;
  } else {
    // 6.9–6.11 stepped over the first byte unchecked (even a NUL, running into the next string).
    i = 1;
  }
  while (at(s, start + i) !== 0 && i < features.ksymNameLen) {
    if (!isPrint(at(s, start + i))) return false;
    i++;
  }
  return at(s, start + i) === 0;
}
