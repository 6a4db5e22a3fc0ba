import type { ByteReader } from './byte-reader.ts';
import { PkgBadMagicError, PkgCorruptError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';

/** RPM header tag numbers we read (rpm's lib/rpmtag.h). */
export const RpmTag = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  OS: 1021,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  SOURCERPM: 1044,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PAYLOADFLAGS: 1126,
  LONGFILESIZES: 5008,
  FILEDIGESTALGO: 5011,
} as const;

/** Tag value types (rpm's rpmTagType). */
const enum RawType {
  NULL = 0,
  CHAR = 1,
  INT8 = 2,
  INT16 = 3,
  INT32 = 4,
  INT64 = 5,
  STRING = 6,
  BIN = 7,
  STRING_ARRAY = 8,
  I18NSTRING = 9,
}

export type RpmTagValue = string | string[] | number[] | bigint[] | Uint8Array;

/** A parsed header structure: tag → value. */
export type RpmHeader = Map<number, RpmTagValue>;

/** One 16-byte index record of a header, as stored. */
interface RawIndexEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
}

const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01];
const LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const LEAD_SIZE = 96;
/** rpm refuses headers with more index entries than this (lib/header.c, hdrchkTags). */
const MAX_INDEX_ENTRIES = 0x0000ffff;

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  name: string;
  signatureType: number;
}

export async function readLead(reader: ByteReader): Promise<RpmLead> {
  const lead = await reader.read(LEAD_SIZE, 'rpm lead');
  if (!LEAD_MAGIC.every((b, i) => lead[i] === b)) throw new PkgBadMagicError('not an rpm: bad lead magic');
  const view = new DataView(lead.buffer, lead.byteOffset, lead.byteLength);
  const major = lead[4]!;
  if (major !== 3 && major !== 4) throw new PkgBadMagicError(`rpm lead: unsupported format version ${major}`);
  const nameEnd = lead.subarray(10, 76).indexOf(0);
  const signatureType = view.getUint16(78, false);
  // 5 = RPMSIGTYPE_HEADERSIG: the only signature kind rpm has written since 3.0.
  if (signatureType !== 5) throw new PkgCorruptError(`rpm lead: unsupported signature type ${signatureType}`);
  return {
    major,
    minor: lead[5]!,
    type: view.getUint16(6, false),
    name: new TextDecoder('latin1').decode(lead.subarray(10, 10 + (nameEnd < 0 ? 66 : nameEnd))),
    signatureType,
  };
}

/**
 * Reads one header structure (magic, index, data store). `align8` pads the reader to the next
 * 8-byte boundary afterwards, as the signature header requires.
 */
export async function readHeader(
  reader: ByteReader,
  limits: Limits,
  what: string,
  align8: boolean,
): Promise<RpmHeader> {
  const intro = await reader.read(16, `${what} intro`);
  if (!HEADER_MAGIC.every((b, i) => intro[i] === b)) throw new PkgBadMagicError(`${what}: bad header magic`);
  const view = new DataView(intro.buffer, intro.byteOffset, intro.byteLength);
  const nindex = view.getUint32(8, false);
  const hsize = view.getUint32(12, false);
  if (nindex === 0 || nindex > MAX_INDEX_ENTRIES)
    throw new PkgCorruptError(`${what}: ${nindex} index entries`);
  checkLimit(limits, 'maxMetadataBytes', nindex * 16 + hsize, `${what} size`);
  const indexBytes = await reader.read(nindex * 16, `${what} index`);
  const store = await reader.read(hsize, `${what} data store`);
  if (align8) {
    const size = 16 + nindex * 16 + hsize;
    await reader.skip((8 - (size % 8)) % 8, `${what} padding`);
  }
  const iv = new DataView(indexBytes.buffer, indexBytes.byteOffset, indexBytes.byteLength);
  const header: RpmHeader = new Map();
  for (let i = 0; i < nindex; i++) {
    const raw: RawIndexEntry = {
      tag: iv.getUint32(i * 16, false),
      type: iv.getUint32(i * 16 + 4, false),
      offset: iv.getUint32(i * 16 + 8, false),
      count: iv.getUint32(i * 16 + 12, false),
    };
    const value = decodeValue(store, raw, `${what} tag ${raw.tag}`);
    if (value !== null && !header.has(raw.tag)) header.set(raw.tag, value);
  }
  return header;
}

function decodeValue(store: Uint8Array, e: RawIndexEntry, what: string): RpmTagValue | null {
  const sv = new DataView(store.buffer, store.byteOffset, store.byteLength);
  const fixed = (width: number): void => {
    // Offsets and counts are checked in wide arithmetic: count * width can pass 2^32.
    if (e.offset % width !== 0 && width > 1)
      throw new PkgCorruptError(`${what}: misaligned offset ${e.offset}`);
    if (e.offset + e.count * width > store.length) {
      throw new PkgCorruptError(
        `${what}: ${e.count}×${width} bytes at ${e.offset} overrun the ${store.length}-byte store`,
      );
    }
  };
  const strings = (n: number): string[] => {
    const out: string[] = [];
    let p = e.offset;
    for (let i = 0; i < n; i++) {
      if (p >= store.length) throw new PkgCorruptError(`${what}: string ${i} starts past the store`);
      const end = store.indexOf(0, p);
      if (end < 0) throw new PkgCorruptError(`${what}: string ${i} is not terminated`);
      out.push(utf8.decode(store.subarray(p, end)));
      p = end + 1;
    }
    return out;
  };
  switch (e.type) {
    case RawType.NULL:
      return null;
    case RawType.CHAR:
    case RawType.INT8:
    case RawType.BIN:
      fixed(1);
      return store.slice(e.offset, e.offset + e.count);
    case RawType.INT16: {
      fixed(2);
      return Array.from({ length: e.count }, (_, i) => sv.getUint16(e.offset + i * 2, false));
    }
    case RawType.INT32: {
      fixed(4);
      return Array.from({ length: e.count }, (_, i) => sv.getUint32(e.offset + i * 4, false));
    }
    case RawType.INT64: {
      fixed(8);
      return Array.from({ length: e.count }, (_, i) => sv.getBigUint64(e.offset + i * 8, false));
    }
    case RawType.STRING:
      if (e.count !== 1) throw new PkgCorruptError(`${what}: STRING with count ${e.count}`);
      return strings(1)[0]!;
    case RawType.STRING_ARRAY:
    case RawType.I18NSTRING:
      if (e.count > store.length)
        throw new PkgCorruptError(`${what}: ${e.count} strings in a ${store.length}-byte store`);
      return strings(e.count);
    default:
      throw new PkgCorruptError(`${what}: unknown type ${e.type}`);
  }
}

const utf8 = new TextDecoder('utf-8');

export function tagString(h: RpmHeader, tag: number): string | null {
  const v = h.get(tag);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return null;
}

export function tagStrings(h: RpmHeader, tag: number): string[] {
  const v = h.get(tag);
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string')) return v as string[];
  return [];
}

export function tagNumbers(h: RpmHeader, tag: number): number[] {
  const v = h.get(tag);
  if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number')) return v as number[];
  if (Array.isArray(v) && typeof v[0] === 'bigint') {
    return (v as bigint[]).map((b) => {
      if (b > BigInt(Number.MAX_SAFE_INTEGER)) throw new PkgCorruptError(`tag ${tag}: value ${b} too large`);
      return Number(b);
    });
  }
  return [];
}
