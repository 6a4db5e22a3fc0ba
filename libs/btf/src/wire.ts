// The BTF wire format, as include/uapi/linux/btf.h defines it (6.1, 6.12 and 7.2 headers compared):
// the one place that knows byte offsets, bit masks and kind numbers. Raw records are prefixed `Raw`.
// Parser, validator, hashes, diff, relocation and the image scanner in @btfwatch/pkg read it from here.

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the v1 header; `hdr_len` may be larger, with the extra bytes required to be zero. */
export const BTF_HEADER_SIZE = 24;
/** The header with 7.x's layout section (`layout_off`, `layout_len`). */
export const BTF_LAYOUT_HEADER_SIZE = 32;
/** Every type starts with name_off, info, size/type (3 × u32). */
export const BTF_TYPE_SIZE = 12;
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
/** Up to 6.x: 16-bit vlen. 7.x widened it to 24 bits (`BTF_MAX_VLEN_WIDE`). */
export const BTF_MAX_VLEN = 0xffff;
export const BTF_MAX_VLEN_WIDE = 0x00ffffff;
/** 7.x's `BTF_MAX_KIND`: the kind field grew from 5 to 7 bits. */
export const BTF_MAX_KIND_WIDE = 0x7f;

/** Byte offsets of the header fields (struct btf_header). */
export const HDR = {
  magic: 0,
  version: 2,
  flags: 3,
  hdrLen: 4,
  typeOff: 8,
  typeLen: 12,
  strOff: 16,
  strLen: 20,
  layoutOff: 24,
  layoutLen: 28,
} as const;

/**
 * The header of a .BTF blob. Section offsets are relative to the end of the header. `layoutOff` and
 * `layoutLen` exist only in 7.x's 32-byte header; they are 0 for the 24-byte one. `littleEndian` is
 * the byte order the blob was written in (its magic tells).
 */
export interface BtfHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
  layoutOff: number;
  layoutLen: number;
  littleEndian: boolean;
}

/** @deprecated the same type: `BtfHeader`. */
export type RawHeader = BtfHeader;

/**
 * The byte order a blob's magic announces: true little-endian, false big-endian, null when `bytes`
 * does not start with 0xeb9f in either order.
 */
export function magicByteOrder(bytes: Uint8Array, offset = 0): boolean | null {
  const a = bytes[offset];
  const b = bytes[offset + 1];
  if (a === 0x9f && b === 0xeb) return true;
  if (a === 0xeb && b === 0x9f) return false;
  return null;
}

/**
 * How `btf_type.info` is split. `classic` (up to 6.x, and what libbpf writes): vlen bits 0-15, kind
 * 24-28, kind_flag 31, everything else must be zero. `wide` (7.x): vlen 0-23, kind 24-30, kind_flag 31,
 * no unused bits.
 */
export interface InfoLayout {
  kindMask: number;
  vlenMask: number;
  /** Bits that may be set at all; the kernel rejects others ("Invalid btf_info"). */
  usedBits: number;
}
export const INFO_CLASSIC: InfoLayout = Object.freeze({
  kindMask: 0x1f,
  vlenMask: 0xffff,
  usedBits: 0x9f00ffff,
});
export const INFO_WIDE: InfoLayout = Object.freeze({
  kindMask: BTF_MAX_KIND_WIDE,
  vlenMask: BTF_MAX_VLEN_WIDE,
  usedBits: 0xffffffff,
});

/** `info` bits in the classic layout: vlen 0-15, kind 24-28, kind_flag 31. */
export function infoVlen(info: number): number {
  return info & 0xffff;
}
export function infoKind(info: number): number {
  return (info >>> 24) & 0x1f;
}
export function infoKindFlag(info: number): boolean {
  return info >>> 31 === 1;
}

/** INT's trailing u32: encoding bits 24-27, offset 16-23, nr_bits 0-7; the rest must be zero. */
export const BTF_INT_MASK = 0x0fffffff;
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

export enum Kind {
  Unknown = 0,
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
}

/** Kind names as the kernel's btf_kind_str and bpftool print them. */
export const KIND_NAMES: Record<Kind, string> = {
  [Kind.Unknown]: 'UNKNOWN',
  [Kind.Int]: 'INT',
  [Kind.Ptr]: 'PTR',
  [Kind.Array]: 'ARRAY',
  [Kind.Struct]: 'STRUCT',
  [Kind.Union]: 'UNION',
  [Kind.Enum]: 'ENUM',
  [Kind.Fwd]: 'FWD',
  [Kind.Typedef]: 'TYPEDEF',
  [Kind.Volatile]: 'VOLATILE',
  [Kind.Const]: 'CONST',
  [Kind.Restrict]: 'RESTRICT',
  [Kind.Func]: 'FUNC',
  [Kind.FuncProto]: 'FUNC_PROTO',
  [Kind.Var]: 'VAR',
  [Kind.Datasec]: 'DATASEC',
  [Kind.Float]: 'FLOAT',
  [Kind.DeclTag]: 'DECL_TAG',
  [Kind.TypeTag]: 'TYPE_TAG',
  [Kind.Enum64]: 'ENUM64',
};

/** Bytes that follow the 12-byte common record for a type of this kind and vlen; -1 for unknown kinds. */
export function trailingSize(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.Int:
      return 4;
    case Kind.Array:
      return 12;
    case Kind.Struct:
    case Kind.Union:
      return 12 * vlen;
    case Kind.Enum:
      return 8 * vlen;
    case Kind.Enum64:
      return 12 * vlen;
    case Kind.FuncProto:
      return 8 * vlen;
    case Kind.Var:
      return 4;
    case Kind.Datasec:
      return 12 * vlen;
    case Kind.DeclTag:
      return 4;
    case Kind.Ptr:
    case Kind.Fwd:
    case Kind.Typedef:
    case Kind.Volatile:
    case Kind.Const:
    case Kind.Restrict:
    case Kind.Func:
    case Kind.Float:
    case Kind.TypeTag:
      return 0;
    default:
      return -1;
  }
}

/**
 * Number of type-id fields of a record, in libbpf's btf_field_iter order (src/btf_iter.c): the common
 * record's size/type word first, then each vlen entry's. Like libbpf, FWD's size/type word counts (it
 * is 0 in valid BTF).
 */
export function typeIdFieldCount(kind: number, vlen: number): number {
  switch (kind) {
    case Kind.Fwd:
    case Kind.Const:
    case Kind.Volatile:
    case Kind.Restrict:
    case Kind.Ptr:
    case Kind.Typedef:
    case Kind.Func:
    case Kind.Var:
    case Kind.DeclTag:
    case Kind.TypeTag:
      return 1;
    case Kind.Array:
      return 2;
    case Kind.Struct:
    case Kind.Union:
    case Kind.Datasec:
      return vlen;
    case Kind.FuncProto:
      return vlen + 1;
    default:
      return 0;
  }
}

/** Byte offset, from the record start, of type-id field `k` (see typeIdFieldCount). */
export function typeIdFieldOffset(kind: number, k: number): number {
  switch (kind) {
    case Kind.Array:
      // elem type, index type
      return BTF_TYPE_SIZE + 4 * k;
    case Kind.Struct:
    case Kind.Union:
      // btf_member { name_off, type, offset }
      return BTF_TYPE_SIZE + 12 * k + 4;
    case Kind.FuncProto:
      // return type, then btf_param { name_off, type }
      return k === 0 ? 8 : BTF_TYPE_SIZE + 8 * (k - 1) + 4;
    case Kind.Datasec:
      // btf_var_secinfo { type, offset, size }
      return BTF_TYPE_SIZE + 12 * k;
    default:
      return 8;
  }
}

/**
 * Stride of the vlen entries whose first word is a string offset (member, param and enum value names);
 * 0 for kinds without named entries.
 */
export function namedEntryStride(kind: number): number {
  switch (kind) {
    case Kind.Struct:
    case Kind.Union:
    case Kind.Enum64:
      return 12;
    case Kind.Enum:
    case Kind.FuncProto:
      return 8;
    default:
      return 0;
  }
}
