import type { Btf, TypeId } from './btf.ts';
import { BtfError } from './errors.ts';
import { visitStringFields, visitTypeIdFields } from './fields.ts';

/** What a module's split BTF takes from its base: the only base facts its meaning depends on. */
export interface ModuleBaseRefs {
  /** The base's nr_types the split was parsed against (the split's start id). */
  readonly startId: TypeId;
  /** The base's str_len the split was parsed against (the split's first string offset). */
  readonly startStrOff: number;
  /** Base type ids referenced by any type-id field of any split type; sorted, unique, without void. */
  readonly typeIds: Uint32Array;
  /** Base string offsets used by any name field of any split type; sorted, unique, without 0 (""). */
  readonly stringOffsets: Uint32Array;
}

/**
 * Collect the base type ids and base string offsets a split blob uses. One pass over the raw records
 * (no model objects): it runs for every module of every package.
 */
export function moduleBaseRefs(split: Btf): ModuleBaseRefs {
  if (!split.base)
    throw new BtfError('BTF_UNSUPPORTED', 'moduleBaseRefs needs split BTF (parsed with its base)');
  const { view } = split;
  const le = split.header.littleEndian;
  const startId = split.startId;
  const startStrOff = split.strings.startOffset;
  const ids = new Growable();
  const strs = new Growable();
  const onId = (fieldAt: number) => {
    const v = view.getUint32(fieldAt, le);
    if (v !== 0 && v < startId) ids.push(v);
  };
  const onStr = (fieldAt: number) => {
    const v = view.getUint32(fieldAt, le);
    if (v !== 0 && v < startStrOff) strs.push(v);
  };
  for (let id = startId; id < split.nrTypes; id++) {
    const at = split.recordOffset(id);
    visitTypeIdFields(view, le, at, onId);
    visitStringFields(view, le, at, onStr);
  }
  return { startId, startStrOff, typeIds: ids.sortedUnique(), stringOffsets: strs.sortedUnique() };
}

/** A growable u32 list that ends as a sorted, de-duplicated Uint32Array. */
export class Growable {
  private data = new Uint32Array(256);
  private length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
  sortedUnique(): Uint32Array {
    const a = this.data.subarray(0, this.length).sort();
    let n = 0;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      if (n === 0 || a[n - 1] !== v) a[n++] = v;
    }
    return a.slice(0, n);
  }
}
