// The user-facing BTF type model. Objects are built on demand by decode.ts from the wire records;
// variable-length parts (members, params, enum values, datasec vars) are decoded on first access.
// Referenced types are held as ids and resolved through the owning Btf, so a type never pins more
// of the graph than was asked for and cyclic graphs need no special handling here.

import type { Btf, TypeId } from './btf.ts';
import { BtfError } from './errors.ts';
import { KIND_NAMES, Kind, infoVlen } from './wire.ts';

/** BTF_INT_* encoding bits (the top byte of the INT trailing word). */
export const INT_SIGNED = 1 << 0;
export const INT_CHAR = 1 << 1;
export const INT_BOOL = 1 << 2;

/** FUNC linkage, stored in the FUNC record's vlen. */
export enum FuncLinkage {
  Static = 0,
  Global = 1,
  Extern = 2,
}

/** VAR linkage, the VAR record's trailing word. */
export enum VarLinkage {
  Static = 0,
  Global = 1,
  Extern = 2,
}

/** What a FWD declares: kind_flag 0 is a struct, 1 a union. */
export type FwdKind = 'struct' | 'union';

/** Anything every decoded type shares. */
abstract class TypeBase {
  abstract get kind(): Kind;

  // Objects are made by decode.ts from the prototypes, never with `new` (see decodeType), so fields
  // are declarations only and the constructor exists to keep `new` out of callers' hands.
  /** The blob whose id space `id` and every referenced id live in (for split BTF, the split blob). */
  declare readonly btf: Btf;
  declare readonly id: TypeId;
  /** Absolute string offset of the name (0 = anonymous). */
  declare readonly nameOff: number;
  /** The raw info word: vlen, kind, kind_flag. */
  declare readonly info: number;

  protected constructor() {}

  /** The name, or '' when anonymous. Throws BTF_BAD_REFERENCE when name_off is outside the strings. */
  get name(): string {
    return this.nameOff === 0 ? '' : this.btf.strings.get(this.nameOff);
  }

  get kindFlag(): boolean {
    return this.info >>> 31 === 1;
  }

  get kindName(): string {
    return KIND_NAMES[this.kind];
  }

  /** `[id] KIND 'name'`, for messages. */
  toString(): string {
    let name: string;
    try {
      name = this.nameOff === 0 ? '(anon)' : this.name;
    } catch {
      name = `(invalid name offset ${this.nameOff})`;
    }
    return `[${this.id}] ${this.kindName} '${name}'`;
  }

  /** Resolve a referenced id through the owning Btf, naming this type and the field on failure. */
  protected resolve(typeId: TypeId, field: string): Type {
    return resolveType(this.btf, typeId, () => `type ${this.toString()} ${field}`);
  }
}

/** Resolve `id` in `btf` (id 0 is void), wrapping a miss as BTF_BAD_REFERENCE with the referrer's context. */
export function resolveType(btf: Btf, id: TypeId, referrer: () => string): Type {
  if (!btf.has(id)) {
    throw new BtfError(
      'BTF_BAD_REFERENCE',
      `${referrer()}: invalid referenced type id ${id} (nr_types ${btf.nrTypes})`,
    );
  }
  return btf.type(id);
}

/** Type id 0. Never stored in BTF; what a reference to 0 resolves to. */
export class Void extends TypeBase {
  get kind(): Kind.Unknown {
    return Kind.Unknown;
  }
  override get name(): string {
    return '';
  }
  override toString(): string {
    return '[0] void';
  }
}

export class Int extends TypeBase {
  get kind(): Kind.Int {
    return Kind.Int;
  }
  /** Storage size in bytes. */
  declare readonly size: number;
  /** The raw INT word: encoding in bits 24-27, offset in 16-23, bits in 0-7. */
  declare readonly data: number;
  /** BTF_INT_ENCODING: a mask of INT_SIGNED, INT_CHAR, INT_BOOL. */
  get encoding(): number {
    return (this.data >>> 24) & 0x0f;
  }
  get signed(): boolean {
    return (this.encoding & INT_SIGNED) !== 0;
  }
  get isChar(): boolean {
    return (this.encoding & INT_CHAR) !== 0;
  }
  get isBool(): boolean {
    return (this.encoding & INT_BOOL) !== 0;
  }
  /** BTF_INT_OFFSET: bit offset of the value inside its storage (0 in anything pahole emits). */
  get bitsOffset(): number {
    return (this.data >>> 16) & 0xff;
  }
  /** BTF_INT_BITS: number of value bits. */
  get bits(): number {
    return this.data & 0xff;
  }
}

/** The kinds that are a name (or nothing) on top of one referenced type. */
abstract class RefType extends TypeBase {
  declare readonly typeId: TypeId;
  get type(): Type {
    return this.resolve(this.typeId, 'target');
  }
}

export class Ptr extends RefType {
  get kind(): Kind.Ptr {
    return Kind.Ptr;
  }
}
export class Typedef extends RefType {
  get kind(): Kind.Typedef {
    return Kind.Typedef;
  }
}
export class Volatile extends RefType {
  get kind(): Kind.Volatile {
    return Kind.Volatile;
  }
}
export class Const extends RefType {
  get kind(): Kind.Const {
    return Kind.Const;
  }
}
export class Restrict extends RefType {
  get kind(): Kind.Restrict {
    return Kind.Restrict;
  }
}
/** `btf_type_tag("...")` on a pointee; the name is the tag's value. */
export class TypeTag extends RefType {
  get kind(): Kind.TypeTag {
    return Kind.TypeTag;
  }
  get value(): string {
    return this.name;
  }
}

export class Array extends TypeBase {
  get kind(): Kind.Array {
    return Kind.Array;
  }
  declare readonly typeId: TypeId;
  declare readonly indexTypeId: TypeId;
  declare readonly nelems: number;
  get type(): Type {
    return this.resolve(this.typeId, 'element type');
  }
  get indexType(): Type {
    return this.resolve(this.indexTypeId, 'index type');
  }
}

/** One struct/union member, with kind_flag already applied to its offset word. */
export class Member {
  declare private readonly owner: Struct | Union;
  declare readonly index: number;
  declare readonly nameOff: number;
  declare readonly typeId: TypeId;
  /** Offset of the member from the start of the struct, in bits. */
  declare readonly bitOffset: number;
  /** Width of a bitfield in bits; 0 for a plain member (always 0 without kind_flag). */
  declare readonly bitfieldSize: number;
  constructor(
    owner: Struct | Union,
    index: number,
    nameOff: number,
    typeId: TypeId,
    bitOffset: number,
    bitfieldSize: number,
  ) {
    this.owner = owner;
    this.index = index;
    this.nameOff = nameOff;
    this.typeId = typeId;
    this.bitOffset = bitOffset;
    this.bitfieldSize = bitfieldSize;
  }
  get name(): string {
    return this.nameOff === 0 ? '' : this.owner.btf.strings.get(this.nameOff);
  }
  get type(): Type {
    return resolveType(
      this.owner.btf,
      this.typeId,
      () => `type ${this.owner.toString()} member ${this.index}`,
    );
  }
}

abstract class Composite extends TypeBase {
  declare private membersCache?: readonly Member[];
  declare readonly size: number;
  /** Byte offset of the first member record within btf.types. */
  declare private readonly trailing: number;
  get vlen(): number {
    return infoVlen(this.info);
  }
  /**
   * Members in declaration order. With kind_flag set, each offset word holds the bitfield size in
   * its top 8 bits and the bit offset in the low 24 (BTF_MEMBER_BITFIELD_SIZE/BIT_OFFSET).
   */
  get members(): readonly Member[] {
    if (this.membersCache) return this.membersCache;
    const { view } = this.btf;
    const le = this.btf.header.littleEndian;
    const packed = this.kindFlag;
    const out = new globalThis.Array<Member>(this.vlen);
    for (let i = 0, at = this.trailing; i < out.length; i++, at += 12) {
      const offset = view.getUint32(at + 8, le);
      out[i] = new Member(
        this as unknown as Struct | Union,
        i,
        view.getUint32(at, le),
        view.getUint32(at + 4, le),
        packed ? offset & 0xffffff : offset,
        packed ? offset >>> 24 : 0,
      );
    }
    this.membersCache = out;
    return out;
  }
}

export class Struct extends Composite {
  get kind(): Kind.Struct {
    return Kind.Struct;
  }
}
export class Union extends Composite {
  get kind(): Kind.Union {
    return Kind.Union;
  }
}

export interface EnumValue {
  readonly nameOff: number;
  readonly name: string;
  /** The value, sign-extended when the enum is signed (kind_flag), zero-extended otherwise. */
  readonly value: number;
}

export interface Enum64Value {
  readonly nameOff: number;
  readonly name: string;
  readonly value: bigint;
}

abstract class EnumBase<V> extends TypeBase {
  declare private valuesCache?: readonly V[];
  declare readonly size: number;
  declare protected readonly trailing: number;
  get vlen(): number {
    return infoVlen(this.info);
  }
  /** kind_flag on an enum: its values are signed. */
  get signed(): boolean {
    return this.kindFlag;
  }
  get values(): readonly V[] {
    this.valuesCache ??= this.decodeValues();
    return this.valuesCache;
  }
  protected abstract decodeValues(): V[];
}

export class Enum extends EnumBase<EnumValue> {
  get kind(): Kind.Enum {
    return Kind.Enum;
  }
  protected decodeValues(): EnumValue[] {
    const { view, strings } = this.btf;
    const le = this.btf.header.littleEndian;
    const out: EnumValue[] = [];
    for (let i = 0, at = this.trailing; i < this.vlen; i++, at += 8) {
      const nameOff = view.getUint32(at, le);
      const value = this.signed ? view.getInt32(at + 4, le) : view.getUint32(at + 4, le);
      out.push({
        nameOff,
        value,
        get name() {
          return nameOff === 0 ? '' : strings.get(nameOff);
        },
      });
    }
    return out;
  }
}

export class Enum64 extends EnumBase<Enum64Value> {
  get kind(): Kind.Enum64 {
    return Kind.Enum64;
  }
  protected decodeValues(): Enum64Value[] {
    const { view, strings } = this.btf;
    const le = this.btf.header.littleEndian;
    const out: Enum64Value[] = [];
    for (let i = 0, at = this.trailing; i < this.vlen; i++, at += 12) {
      const nameOff = view.getUint32(at, le);
      const raw = (BigInt(view.getUint32(at + 8, le)) << 32n) | BigInt(view.getUint32(at + 4, le));
      const value = this.signed ? BigInt.asIntN(64, raw) : raw;
      out.push({
        nameOff,
        value,
        get name() {
          return nameOff === 0 ? '' : strings.get(nameOff);
        },
      });
    }
    return out;
  }
}

export class Fwd extends TypeBase {
  get kind(): Kind.Fwd {
    return Kind.Fwd;
  }
  get fwdKind(): FwdKind {
    return this.kindFlag ? 'union' : 'struct';
  }
}

export class Func extends TypeBase {
  get kind(): Kind.Func {
    return Kind.Func;
  }
  /** The FUNC_PROTO. */
  declare readonly typeId: TypeId;
  /** Linkage lives in vlen; values past Extern are kept as numbers (the kernel rejects them). */
  get linkage(): FuncLinkage | number {
    return infoVlen(this.info);
  }
  get type(): Type {
    return this.resolve(this.typeId, 'prototype');
  }
}

export class Param {
  declare private readonly owner: FuncProto;
  declare readonly index: number;
  declare readonly nameOff: number;
  declare readonly typeId: TypeId;
  constructor(owner: FuncProto, index: number, nameOff: number, typeId: TypeId) {
    this.owner = owner;
    this.index = index;
    this.nameOff = nameOff;
    this.typeId = typeId;
  }
  get name(): string {
    return this.nameOff === 0 ? '' : this.owner.btf.strings.get(this.nameOff);
  }
  get type(): Type {
    return resolveType(
      this.owner.btf,
      this.typeId,
      () => `type ${this.owner.toString()} param ${this.index}`,
    );
  }
}

export class FuncProto extends TypeBase {
  get kind(): Kind.FuncProto {
    return Kind.FuncProto;
  }
  declare private paramsCache?: readonly Param[];
  declare readonly returnTypeId: TypeId;
  declare private readonly trailing: number;
  get vlen(): number {
    return infoVlen(this.info);
  }
  get returnType(): Type {
    return this.resolve(this.returnTypeId, 'return type');
  }
  /** Parameters as recorded; a variadic prototype ends with an anonymous parameter of type void. */
  get params(): readonly Param[] {
    if (this.paramsCache) return this.paramsCache;
    const { view } = this.btf;
    const le = this.btf.header.littleEndian;
    const out = new globalThis.Array<Param>(this.vlen);
    for (let i = 0, at = this.trailing; i < out.length; i++, at += 8) {
      out[i] = new Param(this, i, view.getUint32(at, le), view.getUint32(at + 4, le));
    }
    this.paramsCache = out;
    return out;
  }
  get variadic(): boolean {
    const last = this.params[this.params.length - 1];
    return last !== undefined && last.nameOff === 0 && last.typeId === 0;
  }
}

export class Var extends TypeBase {
  get kind(): Kind.Var {
    return Kind.Var;
  }
  declare readonly typeId: TypeId;
  /** VarLinkage, or the raw number when out of range. */
  declare readonly linkage: VarLinkage | number;
  get type(): Type {
    return this.resolve(this.typeId, 'type');
  }
}

export interface VarSecinfo {
  readonly typeId: TypeId;
  /** Offset of the variable within the section, in bytes. */
  readonly offset: number;
  readonly size: number;
}

export class Datasec extends TypeBase {
  get kind(): Kind.Datasec {
    return Kind.Datasec;
  }
  declare private varsCache?: readonly VarSecinfo[];
  declare readonly size: number;
  declare private readonly trailing: number;
  get vlen(): number {
    return infoVlen(this.info);
  }
  get vars(): readonly VarSecinfo[] {
    if (this.varsCache) return this.varsCache;
    const { view } = this.btf;
    const le = this.btf.header.littleEndian;
    const out: VarSecinfo[] = [];
    for (let i = 0, at = this.trailing; i < this.vlen; i++, at += 12) {
      out.push({
        typeId: view.getUint32(at, le),
        offset: view.getUint32(at + 4, le),
        size: view.getUint32(at + 8, le),
      });
    }
    this.varsCache = out;
    return out;
  }
  /** Resolve the variable of entry `index`. */
  varType(index: number): Type {
    const v = this.vars[index];
    if (!v) throw new BtfError('BTF_NOT_FOUND', `type ${this.toString()} has no var ${index}`);
    return this.resolve(v.typeId, `var ${index}`);
  }
}

export class Float extends TypeBase {
  get kind(): Kind.Float {
    return Kind.Float;
  }
  declare readonly size: number;
}

/** `btf_decl_tag("...")` on a declaration; the name is the tag's value. */
export class DeclTag extends TypeBase {
  get kind(): Kind.DeclTag {
    return Kind.DeclTag;
  }
  /** The tagged declaration: a struct/union/func/var/typedef. */
  declare readonly typeId: TypeId;
  /** -1 tags the declaration itself; otherwise the member or parameter index it tags. */
  declare readonly componentIdx: number;
  get value(): string {
    return this.name;
  }
  get type(): Type {
    return this.resolve(this.typeId, 'target');
  }
}

export type Type =
  | Void
  | Int
  | Ptr
  | Array
  | Struct
  | Union
  | Enum
  | Fwd
  | Typedef
  | Volatile
  | Const
  | Restrict
  | Func
  | FuncProto
  | Var
  | Datasec
  | Float
  | DeclTag
  | TypeTag
  | Enum64;
