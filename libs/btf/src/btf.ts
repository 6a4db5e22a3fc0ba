import { createHash } from 'node:crypto';
import { BtfError } from './errors.ts';
import { parseHeader } from './header.ts';
import { decodeType, voidType } from './decode.ts';
import { StringTable } from './strings.ts';
import type { Type, Void } from './types.ts';
import {
  BTF_TYPE_SIZE,
  Kind,
  infoKind,
  infoKindFlag,
  infoVlen,
  trailingSize,
  type BtfHeader,
} from './wire.ts';

/** A type id: 0 is void; a base holds 1..nrTypes-1; split BTF continues at the base's nrTypes. */
export type TypeId = number;

/**
 * One parsed .BTF blob, base or split. Parsing records the byte offset of every type (one pass, no
 * objects); accessors read fields on demand. Ids below `startId` fall through to `base`.
 */
export class Btf {
  readonly header: BtfHeader;
  readonly strings: StringTable;
  /** The exact bytes parsed; for a vmlinux this is what /sys/kernel/btf/vmlinux serves. */
  readonly bytes: Uint8Array;
  /** First id held here: 1 for a base (id 0 is void), the base's nrTypes for split BTF. */
  readonly startId: TypeId;
  /** Byte offset (into `types`) of each type record held here, indexed by `id - startId`. */
  private readonly offsets: Uint32Array;
  /** The type section bytes. */
  readonly types: Uint8Array;
  readonly view: DataView;
  private sha256Cache?: string;
  /** Decoded model objects, built on first request, indexed by `id - startId`. */
  private typeCache?: (Type | undefined)[];
  private voidCache?: Void;

  private constructor(
    bytes: Uint8Array,
    header: BtfHeader,
    strings: StringTable,
    types: Uint8Array,
    offsets: Uint32Array,
    readonly base?: Btf,
  ) {
    this.bytes = bytes;
    this.header = header;
    this.strings = strings;
    this.types = types;
    this.offsets = offsets;
    this.view = new DataView(types.buffer, types.byteOffset, types.byteLength);
    this.startId = base ? base.nrTypes : 1;
  }

  /** Parse a BTF blob: header → strings → type index. Structural checks only (see validate/ for the kernel's). */
  static parse(bytes: Uint8Array, base?: Btf): Btf {
    const header = parseHeader(bytes);
    if (base && base.header.littleEndian !== header.littleEndian) {
      throw new BtfError('BTF_BAD_HEADER', 'split BTF and its base differ in byte order');
    }
    const data = bytes.subarray(header.hdrLen);
    const strings = StringTable.parse(
      data.subarray(header.strOff, header.strOff + header.strLen),
      base?.strings,
    );
    const types = data.subarray(header.typeOff, header.typeOff + header.typeLen);
    const offsets = indexTypes(types, header.littleEndian, base ? base.nrTypes : 1);
    return new Btf(bytes, header, strings, types, offsets, base);
  }

  /** Number of type records in this blob (not counting the base, nor void). */
  get count(): number {
    return this.offsets.length;
  }

  /** The kernel's `nr_types` for the id space ending here: void + base + this blob. A module's start id. */
  get nrTypes(): number {
    return this.startId + this.offsets.length;
  }

  /** The byte length of the string space ending here: a split blob's first string offset. */
  get strLen(): number {
    return this.strings.endOffset;
  }

  get isSplit(): boolean {
    return this.base !== undefined;
  }

  /** sha256 (hex) of the exact bytes; for vmlinux, the base identity a host computes from /sys/kernel/btf/vmlinux. */
  get sha256(): string {
    this.sha256Cache ??= createHash('sha256').update(this.bytes).digest('hex');
    return this.sha256Cache;
  }

  /** The blob (this or a base) that holds `id`; undefined for void and out-of-range ids. */
  owner(id: TypeId): Btf | undefined {
    if (id < this.startId) return id > 0 ? this.base?.owner(id) : undefined;
    return id < this.nrTypes ? this : undefined;
  }

  has(id: TypeId): boolean {
    return id === 0 || this.owner(id) !== undefined;
  }

  /**
   * Record offsets of the local types, indexed by `id - startId`: for passes over every record that
   * cannot afford a bounds-checked call per type. Read-only.
   */
  get recordOffsets(): Uint32Array {
    return this.offsets;
  }

  /** Offset of the type record for a local id (must be in [startId, nrTypes)). */
  recordOffset(id: TypeId): number {
    const off = this.offsets[id - this.startId];
    if (off === undefined) throw new BtfError('BTF_NOT_FOUND', `type [${id}] is not in this BTF`);
    return off;
  }

  /** Raw accessors; each resolves ids through the base. */
  raw(id: TypeId): RawTypeView {
    const owner = this.owner(id);
    if (!owner) throw new BtfError('BTF_NOT_FOUND', `type [${id}] does not exist (nr_types ${this.nrTypes})`);
    return new RawTypeView(owner, id, owner.recordOffset(id));
  }

  name(id: TypeId): string {
    return id === 0 ? '' : this.strings.get(this.raw(id).nameOff);
  }

  /**
   * The model object for `id` (0 is void), resolved through the base for ids below `startId`.
   * Decoded once and cached. Throws BTF_NOT_FOUND for ids outside the id space.
   */
  type(id: TypeId): Type {
    if (id === 0) return (this.voidCache ??= voidType(this));
    if (id < this.startId) {
      if (!this.base || id < 0) throw new BtfError('BTF_NOT_FOUND', `type [${id}] does not exist`);
      return this.base.type(id);
    }
    const index = id - this.startId;
    if (index >= this.offsets.length || !Number.isInteger(index)) {
      throw new BtfError('BTF_NOT_FOUND', `type [${id}] does not exist (nr_types ${this.nrTypes})`);
    }
    const cache = (this.typeCache ??= new Array<Type | undefined>(this.offsets.length));
    let t = cache[index];
    if (!t) {
      t = decodeType(this, id);
      cache[index] = t;
    }
    return t;
  }

  /** Model objects of every type held locally, in id order. */
  *localTypes(): Generator<Type> {
    for (let id = this.startId; id < this.nrTypes; id++) yield this.type(id);
  }

  /** Every id held locally, in order. */
  *localIds(): Generator<TypeId> {
    for (let id = this.startId; id < this.nrTypes; id++) yield id;
  }
}

/** Read-only view of one type record in the wire format. */
export class RawTypeView {
  constructor(
    readonly btf: Btf,
    readonly id: TypeId,
    /** Byte offset of the record within `btf.types`. */
    readonly offset: number,
  ) {}

  private u32(at: number): number {
    return this.btf.view.getUint32(this.offset + at, this.btf.header.littleEndian);
  }
  private i32(at: number): number {
    return this.btf.view.getInt32(this.offset + at, this.btf.header.littleEndian);
  }

  get nameOff(): number {
    return this.u32(0);
  }
  get info(): number {
    return this.u32(4);
  }
  get kind(): Kind {
    return infoKind(this.info) as Kind;
  }
  get vlen(): number {
    return infoVlen(this.info);
  }
  get kindFlag(): boolean {
    return infoKindFlag(this.info);
  }
  /** `size` for INT, STRUCT, UNION, ENUM, ENUM64, DATASEC, FLOAT; `type` for the rest. */
  get sizeOrType(): number {
    return this.u32(8);
  }
  /** Total bytes of the record including its trailing data. */
  get byteLength(): number {
    return BTF_TYPE_SIZE + trailingSize(this.kind, this.vlen);
  }
  /** u32 at `index` words into the trailing data. */
  trailingU32(index: number): number {
    return this.u32(BTF_TYPE_SIZE + index * 4);
  }
  /** s32 at `index` words into the trailing data. */
  trailingI32(index: number): number {
    return this.i32(BTF_TYPE_SIZE + index * 4);
  }
}

/** One pass over the type section recording where each record starts; rejects unknown kinds and overruns. */
function indexTypes(types: Uint8Array, littleEndian: boolean, startId: number): Uint32Array {
  const view = new DataView(types.buffer, types.byteOffset, types.byteLength);
  let offsets = new Uint32Array(Math.max(16, types.byteLength >>> 4));
  let count = 0;
  let pos = 0;
  while (pos < types.byteLength) {
    const id = startId + count;
    if (pos + BTF_TYPE_SIZE > types.byteLength) {
      throw new BtfError(
        'BTF_TRUNCATED',
        `type [${id}] at offset ${pos}: record header past end of type section`,
      );
    }
    const info = view.getUint32(pos + 4, littleEndian);
    const kind = infoKind(info);
    const extra = trailingSize(kind, infoVlen(info));
    if (extra < 0)
      throw new BtfError('BTF_UNSUPPORTED', `type [${id}] at offset ${pos}: unknown kind ${kind}`);
    if (pos + BTF_TYPE_SIZE + extra > types.byteLength) {
      throw new BtfError(
        'BTF_TRUNCATED',
        `type [${id}] at offset ${pos}: ${extra} trailing bytes past end of section`,
      );
    }
    if (count === offsets.length) {
      const grown = new Uint32Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = pos;
    pos += BTF_TYPE_SIZE + extra;
  }
  return offsets.slice(0, count);
}
