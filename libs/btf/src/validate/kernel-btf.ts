import type { Btf } from '../btf.ts';
import {
  BTF_MAX_NAME_OFFSET,
  BTF_TYPE_SIZE,
  INFO_CLASSIC,
  INFO_WIDE,
  type BtfHeader,
  type InfoLayout,
} from '../wire.ts';
import type { KernelBtfFeatures } from './features.ts';

/**
 * The id and string-offset space a blob under validation falls through to, as the kernel walks it
 * (btf_type_by_id / btf_str_by_offset loop down base_btf while below start_id / start_str_off).
 */
export interface BtfSpace {
  /** btf_nr_types(): one past the highest id reachable here, base included. */
  readonly totalTypes: number;
  /** hdr.str_len of this blob plus start_str_off: one past the highest string offset reachable here. */
  readonly totalStrLen: number;
  /** info and size/type words of type `id` (void for 0); undefined past totalTypes. */
  typeWords(id: number): { info: number; sizeOrType: number } | undefined;
  /** typeWords(id).info without an object: -1 past totalTypes (hot loops over every type). */
  typeInfo(id: number): number;
  /** typeWords(id).sizeOrType without an object, for an id typeInfo accepts. */
  typeRef(id: number): number;
  /** Bytes holding the string at `offset` (a view into its table, starting at the string). */
  stringAt(offset: number): Uint8Array | undefined;
  /** Like stringAt without making a view: fills `out` with the whole table and the string's index in it. */
  locateString(offset: number, out: StringLocation): boolean;
}

/** Where a string lives: its table, and its first byte's index there. */
export interface StringLocation {
  table: Uint8Array;
  start: number;
}

/** btf_type_by_id(0) is the kernel's static btf_void (kind UNKN), not NULL. */
const VOID = { info: 0, sizeOrType: 0 } as const;

/** Adapts an already-parsed vmlinux (or any base) `Btf` to the kernel's fall-through lookups. */
export function btfSpace(btf: Btf): BtfSpace {
  return {
    totalTypes: btf.nrTypes,
    totalStrLen: btf.strLen,
    typeWords(id) {
      if (id === 0) return VOID;
      if (id < 0 || id >= btf.nrTypes) return undefined;
      const t = btf.raw(id);
      return { info: t.info, sizeOrType: t.sizeOrType };
    },
    typeInfo(id) {
      if (id === 0) return 0;
      if (id < 0 || id >= btf.nrTypes) return -1;
      return btf.raw(id).info;
    },
    typeRef(id) {
      return id === 0 ? 0 : btf.raw(id).sizeOrType;
    },
    stringAt(offset) {
      const owner = btf.strings.owner(offset);
      return owner?.bytes.subarray(offset - owner.startOffset);
    },
    locateString(offset, out) {
      const owner = btf.strings.owner(offset);
      if (!owner) return false;
      out.table = owner.bytes;
      out.start = offset - owner.startOffset;
      return true;
    },
  };
}

/** The header as the kernel copied it (btf->hdr): a zeroed struct with min(hdr_len, sizeof) bytes in. */
export type KernelHeader = BtfHeader;

/**
 * One blob as btf_parse_module/btf_parse_base hold it while validating: raw data, the copied header,
 * and the record offsets btf_add_type collected so far. Ids start at the base's nr_types (start_id),
 * string offsets at the base's str_len (start_str_off).
 */
export class KernelBtf implements BtfSpace {
  readonly view: DataView;
  header: BtfHeader = {
    littleEndian: true,
    magic: 0,
    version: 0,
    flags: 0,
    hdrLen: 0,
    typeOff: 0,
    typeLen: 0,
    strOff: 0,
    strLen: 0,
    layoutOff: 0,
    layoutLen: 0,
  };
  /** Absolute offsets (into `data`) of the records accepted so far, indexed by id - startId (first `count`). */
  private offsets = new Uint32Array(256);
  private count = 0;
  /** First id of this blob: 1 for a base, the base's nr_types for split BTF. */
  readonly startId: number;
  /** First string offset of this blob: 0 for a base, the base's str_len for split BTF. */
  readonly startStrOff: number;

  /** How `info` splits into kind and vlen on this kernel. */
  readonly info: InfoLayout;

  constructor(
    readonly data: Uint8Array,
    readonly features: KernelBtfFeatures,
    readonly base?: BtfSpace,
    /**
     * The kernel's native byte order (its own vmlinux BTF's). The kernel never byte-swaps: a blob
     * written in the other order is read as is, and fails the header checks.
     */
    readonly littleEndian = true,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.info = features.wideInfo ? INFO_WIDE : INFO_CLASSIC;
    this.header.littleEndian = littleEndian;
    this.startId = base ? base.totalTypes : 1;
    this.startStrOff = base ? base.totalStrLen : 0;
  }

  u32(at: number): number {
    return this.view.getUint32(at, this.littleEndian);
  }

  get totalTypes(): number {
    return this.startId + this.count;
  }

  get totalStrLen(): number {
    return this.startStrOff + this.header.strLen;
  }

  /** Where the string section starts in `data`. */
  get stringsStart(): number {
    return this.header.hdrLen + this.header.strOff;
  }

  kindOf(info: number): number {
    return (info >>> 24) & this.info.kindMask;
  }

  vlenOf(info: number): number {
    return info & this.info.vlenMask;
  }

  typeWords(id: number): { info: number; sizeOrType: number } | undefined {
    if (id === 0) return VOID;
    if (id < this.startId) return this.base?.typeWords(id);
    const local = id - this.startId;
    if (local >= this.count) return undefined;
    const at = this.offsets[local] as number;
    return { info: this.u32(at + 4), sizeOrType: this.u32(at + 8) };
  }

  typeInfo(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base ? this.base.typeInfo(id) : -1;
    const local = id - this.startId;
    if (local >= this.count) return -1;
    return this.u32((this.offsets[local] as number) + 4);
  }

  typeRef(id: number): number {
    if (id === 0) return 0;
    if (id < this.startId) return this.base ? this.base.typeRef(id) : 0;
    return this.u32((this.offsets[id - this.startId] as number) + 8);
  }

  stringAt(offset: number): Uint8Array | undefined {
    if (offset < this.startStrOff) return this.base?.stringAt(offset);
    const local = offset - this.startStrOff;
    if (local >= this.header.strLen) return undefined;
    return this.data.subarray(this.stringsStart + local, this.stringsStart + this.header.strLen);
  }

  private strings?: { header: BtfHeader; table: Uint8Array };

  locateString(offset: number, out: StringLocation): boolean {
    if (offset < this.startStrOff) return this.base?.locateString(offset, out) ?? false;
    const local = offset - this.startStrOff;
    if (local >= this.header.strLen) return false;
    // The string section as one view, made once per header (parseHeader replaces the header object).
    if (this.strings?.header !== this.header) {
      const table = this.data.subarray(this.stringsStart, this.stringsStart + this.header.strLen);
      this.strings = { header: this.header, table };
    }
    out.table = this.strings.table;
    out.start = local;
    return true;
  }

  /**
   * btf_name_offset_valid: below BTF_MAX_NAME_OFFSET and inside this blob's or a base's strings, i.e.
   * below totalStrLen (a split blob's strings start where its base's end).
   */
  nameOffsetValid(offset: number): boolean {
    return offset <= BTF_MAX_NAME_OFFSET && offset < this.totalStrLen;
  }

  /** __btf_name_by_offset as a byte string for the log: "(anon)", the name, or "(invalid-name-offset)". */
  logName(offset: number): string {
    if (offset === 0) return '(anon)';
    const s = this.stringAt(offset);
    return s ? binary(s) : '(invalid-name-offset)';
  }

  /** btf_add_type (its E2BIG at BTF_MAX_TYPE is ignored by btf_check_all_metas, so is not modelled). */
  addType(at: number): void {
    if (this.count === this.offsets.length) {
      // A typed array, grown by doubling: a vmlinux has >100k records, and a plain array's growth and
      // GC cost showed as a quarter of its validation time.
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.count++] = at;
  }
}

/** A C string (up to NUL or the end of the table) as a one-char-per-byte string. */
export function binary(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
}

export const RECORD_SIZE = BTF_TYPE_SIZE;
