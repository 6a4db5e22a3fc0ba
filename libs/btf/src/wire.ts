// BTF wire format, as defined by include/uapi/linux/btf.h. Raw records are prefixed `Raw`.

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of the v1 header; `hdr_len` may be larger, with the extra bytes required to be zero. */
export const BTF_HEADER_SIZE = 24;
/** Every type starts with name_off, info, size/type (3 × u32). */
export const BTF_TYPE_SIZE = 12;
export const BTF_MAX_TYPE = 0x000fffff;
export const BTF_MAX_NAME_OFFSET = 0x00ffffff;
export const BTF_MAX_VLEN = 0xffff;

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

/** The 24-byte header at the start of every .BTF section. */
export interface RawHeader {
  magic: number;
  version: number;
  flags: number;
  hdrLen: number;
  /** Offsets are relative to the end of the header. */
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

/** `info` bits: vlen 0-15, kind 24-28, kind_flag 31. */
export function infoVlen(info: number): number {
  return info & 0xffff;
}
export function infoKind(info: number): number {
  return (info >>> 24) & 0x1f;
}
export function infoKindFlag(info: number): boolean {
  return info >>> 31 === 1;
}

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
