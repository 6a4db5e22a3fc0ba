import { Buffer } from 'node:buffer';
import type { Btf, TypeId } from './btf.ts';
import { FuncLinkage, INT_BOOL, INT_CHAR, INT_SIGNED, VarLinkage, type FwdKind } from './types.ts';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_MAX_VLEN, BTF_VERSION, Kind } from './wire.ts';

/** A name given as text (interned) or as a raw string offset (for names that point anywhere, on purpose). */
export type NameArg = string | { offset: number };

export interface MemberSpec {
  name?: NameArg;
  type: TypeId;
  /** Bit offset from the start of the struct. */
  bitOffset: number;
  /** Bitfield width; any non-zero width makes the struct use kind_flag encoding. */
  bitfieldSize?: number;
}

export interface ParamSpec {
  name?: NameArg;
  type: TypeId;
}

const encoder = new TextEncoder();

/**
 * Emits valid BTF bytes, base or split, in either byte order: what tests need to build synthetic
 * cases (including deliberately wrong ones through `raw` and `{ offset }` names). Strings are
 * deduplicated the way libbpf's strset does it (first occurrence wins; a split builder first looks
 * the string up in its base), and the layout is libbpf's `btf__raw_data`: header, types, strings.
 * That makes a builder that is fed the same calls in the same order as libbpf emit the same bytes.
 */
export class BtfBuilder {
  /** First id this blob defines: 1 for a base, the base's nr_types for split BTF. */
  readonly startId: TypeId;
  /** First string offset this blob defines: 0 for a base, the base's str_len for split BTF. */
  readonly startStrOff: number;
  readonly littleEndian: boolean;
  private words: number[] = [];
  /** Word index where each record starts. */
  private readonly starts: number[] = [];
  private count = 0;
  private readonly strBytes: number[] = [];
  private readonly strIndex = new Map<string, number>();
  private readonly base?: StringLookup;

  constructor(options: { base?: Btf | BtfBuilder; littleEndian?: boolean } = {}) {
    const { base } = options;
    const baseOrder = base instanceof BtfBuilder ? base.littleEndian : base?.header.littleEndian;
    this.littleEndian = options.littleEndian ?? baseOrder ?? true;
    if (base) {
      this.startId = base.nrTypes;
      this.startStrOff = base.strLen;
      this.base = base instanceof BtfBuilder ? base.lookup() : btfLookup(base);
    } else {
      this.startId = 1;
      this.startStrOff = 0;
      this.strBytes.push(0);
      this.strIndex.set('', 0);
    }
  }

  /** nr_types of the id space ending here (a split blob built on this one starts here). */
  get nrTypes(): number {
    return this.startId + this.count;
  }
  /** Length of the string space ending here. */
  get strLen(): number {
    return this.startStrOff + this.strBytes.length;
  }
  /** Id the next added type gets. */
  get nextId(): TypeId {
    return this.nrTypes;
  }
  /** Intern `s` (UTF-8) and return its absolute offset (a split builder reuses a base string when there is one). */
  string(s: string): number {
    return this.stringBytes(encoder.encode(s));
  }

  /** Intern a string given as bytes (without its NUL), compared byte for byte. */
  stringBytes(bytes: Uint8Array): number {
    const key = byteKey(bytes);
    if (this.base) {
      const hit = this.base.find(key);
      if (hit !== undefined) return hit;
    }
    const known = this.strIndex.get(key);
    if (known !== undefined) return this.startStrOff + known;
    const local = this.strBytes.length;
    for (const b of bytes) this.strBytes.push(b);
    this.strBytes.push(0);
    this.strIndex.set(key, local);
    return this.startStrOff + local;
  }

  /** Append raw bytes (a NUL is added) without interning; returns the absolute offset. */
  rawString(bytes: Uint8Array): number {
    const local = this.strBytes.length;
    for (const b of bytes) this.strBytes.push(b);
    this.strBytes.push(0);
    return this.startStrOff + local;
  }

  /** Pad the string section with NULs until the string space ends at `strLen` (to match a real base's). */
  padStringsTo(strLen: number): void {
    if (strLen < this.strLen)
      throw new RangeError(`string space already ${this.strLen} bytes, cannot pad to ${strLen}`);
    while (this.strLen < strLen) this.strBytes.push(0);
  }

  private name(name: NameArg | undefined): number {
    if (name === undefined || name === '') return 0;
    return typeof name === 'string' ? this.string(name) : name.offset;
  }

  /** Append one record given as u32 words (common header first); returns its id. */
  raw(words: readonly number[]): TypeId {
    this.starts.push(this.words.length);
    for (const w of words) this.words.push(w >>> 0);
    return this.startId + this.count++;
  }

  /**
   * Overwrite word `index` (0 = name_off, 1 = info, 2 = size/type, then the trailing words) of a
   * record added here: the way to make a deliberately different blob of the same shape.
   */
  setWord(id: TypeId, index: number, value: number): void {
    const start = this.starts[id - this.startId];
    const end = this.starts[id - this.startId + 1] ?? this.words.length;
    if (start === undefined || index < 0 || start + index >= end)
      throw new RangeError(`no word ${index} in type [${id}]`);
    this.words[start + index] = value >>> 0;
  }

  /**
   * A builder holding a copy of `btf`'s own records and string section, byte for byte (for split
   * BTF, over the same base): `build()` reproduces the types and strings, and more can be added or
   * changed. E.g. the `corrupt` case: a real base with one referenced id changed keeps nr_types and
   * str_len, so a module built on the real one passes validation on it.
   */
  static copyOf(btf: Btf): BtfBuilder {
    const b = new BtfBuilder(btf.base ? { base: btf.base } : { littleEndian: btf.header.littleEndian });
    const { view } = btf;
    const le = btf.header.littleEndian;
    for (let id = btf.startId; id < btf.nrTypes; id++) {
      const r = btf.raw(id);
      const words: number[] = [];
      for (let w = 0; w < r.byteLength / 4; w++) words.push(view.getUint32(r.offset + 4 * w, le));
      b.raw(words);
    }
    const strings = btf.strings.bytes;
    b.strBytes.length = 0;
    b.strIndex.clear();
    for (let off = 0; off < strings.byteLength;) {
      let end = strings.indexOf(0, off);
      if (end < 0) end = strings.byteLength;
      const key = byteKey(strings.subarray(off, end));
      if (!b.strIndex.has(key)) b.strIndex.set(key, off);
      off = end + 1;
    }
    for (const x of strings) b.strBytes.push(x);
    return b;
  }

  private record(
    kind: Kind,
    name: NameArg | undefined,
    vlen: number,
    kindFlag: boolean,
    sizeOrType: number,
    tail: number[] = [],
  ): TypeId {
    if (vlen > BTF_MAX_VLEN) throw new RangeError(`vlen ${vlen} exceeds ${BTF_MAX_VLEN}`);
    const info = ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen;
    return this.raw([this.name(name), info, sizeOrType, ...tail]);
  }

  int(
    name: NameArg,
    size: number,
    opts: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {},
  ): TypeId {
    const encoding = (opts.signed ? INT_SIGNED : 0) | (opts.char ? INT_CHAR : 0) | (opts.bool ? INT_BOOL : 0);
    const data = (encoding << 24) | ((opts.offset ?? 0) << 16) | (opts.bits ?? size * 8);
    return this.record(Kind.Int, name, 0, false, size, [data]);
  }
  float(name: NameArg, size: number): TypeId {
    return this.record(Kind.Float, name, 0, false, size);
  }
  ptr(target: TypeId): TypeId {
    return this.record(Kind.Ptr, undefined, 0, false, target);
  }
  typedef(name: NameArg, target: TypeId): TypeId {
    return this.record(Kind.Typedef, name, 0, false, target);
  }
  volatile(target: TypeId): TypeId {
    return this.record(Kind.Volatile, undefined, 0, false, target);
  }
  const(target: TypeId): TypeId {
    return this.record(Kind.Const, undefined, 0, false, target);
  }
  restrict(target: TypeId): TypeId {
    return this.record(Kind.Restrict, undefined, 0, false, target);
  }
  typeTag(value: NameArg, target: TypeId): TypeId {
    return this.record(Kind.TypeTag, value, 0, false, target);
  }
  array(elem: TypeId, index: TypeId, nelems: number): TypeId {
    return this.record(Kind.Array, undefined, 0, false, 0, [elem, index, nelems]);
  }
  struct(
    name: NameArg | undefined,
    size: number,
    members: readonly MemberSpec[],
    opts: { kindFlag?: boolean } = {},
  ): TypeId {
    return this.composite(Kind.Struct, name, size, members, opts.kindFlag);
  }
  union(
    name: NameArg | undefined,
    size: number,
    members: readonly MemberSpec[],
    opts: { kindFlag?: boolean } = {},
  ): TypeId {
    return this.composite(Kind.Union, name, size, members, opts.kindFlag);
  }
  private composite(
    kind: Kind,
    name: NameArg | undefined,
    size: number,
    members: readonly MemberSpec[],
    kindFlag?: boolean,
  ): TypeId {
    const packed = kindFlag ?? members.some((m) => (m.bitfieldSize ?? 0) > 0);
    const tail: number[] = [];
    for (const m of members) {
      if (!packed && m.bitfieldSize) throw new RangeError('bitfield member needs kind_flag');
      tail.push(
        this.name(m.name),
        m.type,
        packed ? ((m.bitfieldSize ?? 0) << 24) | m.bitOffset : m.bitOffset,
      );
    }
    return this.record(kind, name, members.length, packed, size, tail);
  }
  enum(
    name: NameArg | undefined,
    size: number,
    values: readonly { name: NameArg; value: number }[],
    opts: { signed?: boolean } = {},
  ): TypeId {
    const tail: number[] = [];
    for (const v of values) tail.push(this.name(v.name), v.value);
    return this.record(
      Kind.Enum,
      name,
      values.length,
      opts.signed ?? values.some((v) => v.value < 0),
      size,
      tail,
    );
  }
  enum64(
    name: NameArg | undefined,
    size: number,
    values: readonly { name: NameArg; value: bigint }[],
    opts: { signed?: boolean } = {},
  ): TypeId {
    const tail: number[] = [];
    for (const v of values) {
      const u = BigInt.asUintN(64, v.value);
      tail.push(this.name(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.record(
      Kind.Enum64,
      name,
      values.length,
      opts.signed ?? values.some((v) => v.value < 0n),
      size,
      tail,
    );
  }
  fwd(name: NameArg, kind: FwdKind = 'struct'): TypeId {
    return this.record(Kind.Fwd, name, 0, kind === 'union', 0);
  }
  func(name: NameArg, proto: TypeId, linkage: FuncLinkage = FuncLinkage.Static): TypeId {
    return this.record(Kind.Func, name, linkage, false, proto);
  }
  funcProto(returnType: TypeId, params: readonly ParamSpec[]): TypeId {
    const tail: number[] = [];
    for (const p of params) tail.push(this.name(p.name), p.type);
    return this.record(Kind.FuncProto, undefined, params.length, false, returnType, tail);
  }
  var(name: NameArg, type: TypeId, linkage: VarLinkage = VarLinkage.Static): TypeId {
    return this.record(Kind.Var, name, 0, false, type, [linkage]);
  }
  datasec(
    name: NameArg,
    size: number,
    vars: readonly { type: TypeId; offset: number; size: number }[],
  ): TypeId {
    const tail: number[] = [];
    for (const v of vars) tail.push(v.type, v.offset, v.size);
    return this.record(Kind.Datasec, name, vars.length, false, size, tail);
  }
  declTag(value: NameArg, target: TypeId, componentIdx = -1): TypeId {
    return this.record(Kind.DeclTag, value, 0, false, target, [componentIdx]);
  }

  /** The blob: 24-byte header, type section, string section. */
  build(): Uint8Array {
    const typeLen = this.words.length * 4;
    const strLen = this.strBytes.length;
    const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strLen);
    const view = new DataView(out.buffer);
    const le = this.littleEndian;
    view.setUint16(0, BTF_MAGIC, le);
    view.setUint8(2, BTF_VERSION);
    view.setUint8(3, 0);
    view.setUint32(4, BTF_HEADER_SIZE, le);
    view.setUint32(8, 0, le);
    view.setUint32(12, typeLen, le);
    view.setUint32(16, typeLen, le);
    view.setUint32(20, strLen, le);
    for (let i = 0; i < this.words.length; i++)
      view.setUint32(BTF_HEADER_SIZE + i * 4, this.words[i] ?? 0, le);
    out.set(this.strBytes, BTF_HEADER_SIZE + typeLen);
    return out;
  }

  /** String lookup for a split builder stacked on this one; the base must not grow afterwards. */
  private lookup(): StringLookup {
    const parent = this.base;
    return {
      find: (key) => {
        const hit = parent?.find(key);
        if (hit !== undefined) return hit;
        const local = this.strIndex.get(key);
        return local === undefined ? undefined : this.startStrOff + local;
      },
    };
  }
}

/** Strings are keyed by their bytes read as latin1: one char per byte, so distinct bytes never collide. */
interface StringLookup {
  find(key: string): number | undefined;
}

function byteKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** libbpf's btf__find_str over a parsed blob: the first occurrence of each string, base first. */
function btfLookup(btf: Btf): StringLookup {
  let index: Map<string, number> | undefined;
  const parent = btf.base ? btfLookup(btf.base) : undefined;
  return {
    find(s) {
      const hit = parent?.find(s);
      if (hit !== undefined) return hit;
      if (!index) {
        index = new Map();
        const { bytes, startOffset } = btf.strings;
        for (let off = 0; off < bytes.byteLength;) {
          let end = bytes.indexOf(0, off);
          if (end < 0) end = bytes.byteLength;
          const str = byteKey(bytes.subarray(off, end));
          if (!index.has(str)) index.set(str, startOffset + off);
          off = end + 1;
        }
      }
      return index.get(s);
    },
  };
}
