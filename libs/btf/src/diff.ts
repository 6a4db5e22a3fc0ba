// What a module built against base A sees when its split BTF is read against base B. Split BTF names
// base types by id and base strings by byte offset, so the question is per id and per offset, not per
// name: computed once per base pair (linear in the bases), then each module is checked with lookups.

import type { Btf, TypeId } from './btf.ts';
import { BtfError } from './errors.ts';
import { isStringWord, visitTypeIdFields } from './fields.ts';
import type { ModuleBaseRefs } from './refs.ts';
import { infoKind } from './wire.ts';

export interface BaseSummary {
  readonly sha256: string;
  readonly nrTypes: number;
  readonly strLen: number;
}

/** Plain-data form of a BaseDiff, for storage (all arrays of numbers). */
export interface BaseDiffData {
  a: BaseSummary;
  b: BaseSummary;
  changedTypeIds: number[];
  changedStringRanges: number[];
  recordChanged: number;
}

/**
 * Same-id differences between base A and base B. Type id `v` is changed when its record differs
 * (names compared by content, referenced ids as numbers), when anything it references transitively
 * is changed, or when `v` is outside either base. String offset `o` is changed when the string that
 * starts at byte `o` differs (any byte offset: a module may point into the middle of a base string),
 * or `o` is outside either string section.
 */
export class BaseDiff {
  /** min(nr_types): ids below this exist in both bases. */
  readonly commonTypes: number;
  /** min(str_len): offsets below this exist in both bases. */
  readonly commonStrLen: number;

  constructor(
    readonly a: BaseSummary,
    readonly b: BaseSummary,
    /** Sorted ids in [1, commonTypes) whose meaning changed. */
    readonly changedTypeIds: Uint32Array,
    /** Sorted, disjoint [start, end) pairs of changed offsets inside [0, commonStrLen). */
    readonly changedStringRanges: Uint32Array,
    /** How many of `changedTypeIds` differ in their own record (the rest changed through a reference). */
    readonly recordChanged: number,
  ) {
    this.commonTypes = Math.min(a.nrTypes, b.nrTypes);
    this.commonStrLen = Math.min(a.strLen, b.strLen);
    this.changedBitmap = new Uint8Array(this.commonTypes);
    for (const id of changedTypeIds) this.changedBitmap[id] = 1;
  }

  private readonly changedBitmap: Uint8Array;

  /** Same nr_types and str_len: a module's own ids and string offsets land where they did on A. */
  get sameLayout(): boolean {
    return this.a.nrTypes === this.b.nrTypes && this.a.strLen === this.b.strLen;
  }
  get identical(): boolean {
    return this.a.sha256 === this.b.sha256;
  }

  isTypeChanged(id: TypeId): boolean {
    if (id === 0) return false;
    return id >= this.commonTypes || this.changedBitmap[id] === 1;
  }

  isStringChanged(offset: number): boolean {
    return offset >= this.commonStrLen || rangeContains(this.changedStringRanges, offset);
  }

  /** Number of changed string offsets inside the common range. */
  get changedStringBytes(): number {
    let n = 0;
    for (let i = 0; i < this.changedStringRanges.length; i += 2) {
      n += (this.changedStringRanges[i + 1] as number) - (this.changedStringRanges[i] as number);
    }
    return n;
  }

  toData(): BaseDiffData {
    return {
      a: { ...this.a },
      b: { ...this.b },
      changedTypeIds: [...this.changedTypeIds],
      changedStringRanges: [...this.changedStringRanges],
      recordChanged: this.recordChanged,
    };
  }

  static fromData(d: BaseDiffData): BaseDiff {
    return new BaseDiff(
      d.a,
      d.b,
      Uint32Array.from(d.changedTypeIds),
      Uint32Array.from(d.changedStringRanges),
      d.recordChanged,
    );
  }
}

/** Diff two base blobs for same-id reading (what a module built on `a` sees on `b`). Linear time. */
export function diffBases(a: Btf, b: Btf): BaseDiff {
  if (a.isSplit || b.isSplit)
    throw new BtfError('BTF_UNSUPPORTED', 'diffBases compares base BTF, not split BTF');
  const commonTypes = Math.min(a.nrTypes, b.nrTypes);
  const commonStrLen = Math.min(a.strLen, b.strLen);
  const stringRanges = diffStrings(a.strings.bytes, b.strings.bytes, commonStrLen);
  const stringChanged = (off: number) => rangeContains(stringRanges, off);

  const changed = new Uint8Array(commonTypes);
  let recordChanged = 0;
  for (let id = 1; id < commonTypes; id++) {
    if (!recordsEqual(a, b, id, stringChanged)) {
      changed[id] = 1;
      recordChanged++;
    }
  }

  // Reverse edges over A's records (an unchanged record references the same ids in B), then spread
  // "changed" from each changed id to everything that references it. Each edge is walked once.
  const { view, header } = a;
  const le = header.littleEndian;
  const counts = new Uint32Array(commonTypes + 1);
  let from = 0;
  const count = (fieldAt: number) => {
    const to = view.getUint32(fieldAt, le);
    if (to === 0) return;
    if (to >= commonTypes) changed[from] = changed[from] || 2;
    else counts[to] = (counts[to] as number) + 1;
  };
  for (from = 1; from < commonTypes; from++) visitTypeIdFields(view, le, a.recordOffset(from), count);
  const starts = new Uint32Array(commonTypes + 1);
  for (let i = 1; i <= commonTypes; i++) starts[i] = (starts[i - 1] as number) + (counts[i - 1] as number);
  const referrers = new Uint32Array(starts[commonTypes] as number);
  const fill = starts.slice();
  const store = (fieldAt: number) => {
    const to = view.getUint32(fieldAt, le);
    if (to === 0 || to >= commonTypes) return;
    const slot = fill[to] as number;
    referrers[slot] = from;
    fill[to] = slot + 1;
  };
  for (from = 1; from < commonTypes; from++) visitTypeIdFields(view, le, a.recordOffset(from), store);

  const queue = new Uint32Array(commonTypes);
  let head = 0;
  let tail = 0;
  for (let id = 1; id < commonTypes; id++) if (changed[id]) queue[tail++] = id;
  while (head < tail) {
    const id = queue[head++] as number;
    for (let e = starts[id] as number, end = starts[id + 1] as number; e < end; e++) {
      const r = referrers[e] as number;
      if (!changed[r]) {
        changed[r] = 3;
        queue[tail++] = r;
      }
    }
  }
  const ids = queue.slice(0, tail).sort();
  return new BaseDiff(summary(a), summary(b), ids, stringRanges, recordChanged);
}

function summary(btf: Btf): BaseSummary {
  return { sha256: btf.sha256, nrTypes: btf.nrTypes, strLen: btf.strLen };
}

/**
 * Changed offsets of the common prefix as [start, end) ranges: offset o is unchanged when the bytes
 * from o up to and including the NUL agree. Computed back to front so each byte is looked at once.
 */
export function diffStrings(a: Uint8Array, b: Uint8Array, common: number): Uint32Array {
  const ranges: number[] = [];
  let equalNext = false; // whether the string starting at o+1 is equal; false past the common end
  let rangeEnd = -1;
  for (let o = common - 1; o >= 0; o--) {
    const x = a[o];
    const equal: boolean = x === b[o] && (x === 0 || equalNext);
    if (!equal && rangeEnd < 0) rangeEnd = o + 1;
    if (equal && rangeEnd >= 0) {
      ranges.push(rangeEnd, o + 1);
      rangeEnd = -1;
    }
    equalNext = equal;
  }
  if (rangeEnd >= 0) ranges.push(rangeEnd, 0);
  const out = new Uint32Array(ranges.length);
  for (let i = 0, j = ranges.length - 2; j >= 0; i += 2, j -= 2) {
    out[i] = ranges[j + 1] as number;
    out[i + 1] = ranges[j] as number;
  }
  return out;
}

function rangeContains(r: Uint32Array, offset: number): boolean {
  let lo = 0;
  let hi = r.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((r[2 * mid + 1] as number) <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < r.length / 2 && (r[2 * lo] as number) <= offset;
}

/** Record of `id` in both: equal words, except name offsets, which are equal when their strings are. */
function recordsEqual(a: Btf, b: Btf, id: TypeId, stringChanged: (off: number) => boolean): boolean {
  const ra = a.raw(id);
  const rb = b.raw(id);
  if (ra.info !== rb.info) return false;
  const words = ra.byteLength / 4;
  const kind = infoKind(ra.info);
  const av = a.view;
  const bv = b.view;
  const ale = a.header.littleEndian;
  const ble = b.header.littleEndian;
  for (let w = 0; w < words; w++) {
    const x = av.getUint32(ra.offset + w * 4, ale);
    const y = bv.getUint32(rb.offset + w * 4, ble);
    if (w === 1) continue; // info, compared above
    if (isStringWord(kind, w)) {
      if (x === y && (x === 0 || !stringChanged(x))) continue;
      if (!sameString(a, x, b, y)) return false;
    } else if (x !== y) {
      return false;
    }
  }
  return true;
}

function sameString(a: Btf, x: number, b: Btf, y: number): boolean {
  const va = a.strings.isValidOffset(x);
  const vb = b.strings.isValidOffset(y);
  if (!va || !vb) return !va && !vb && x === y;
  const sa = a.strings.rawBytes(x);
  const sb = b.strings.rawBytes(y);
  if (sa.byteLength !== sb.byteLength) return false;
  for (let i = 0; i < sa.byteLength; i++) if (sa[i] !== sb[i]) return false;
  return true;
}

/** What a module's references hit on the other base. */
export interface ModuleRefCheck {
  /** Base ids the module references whose meaning differs on B (or that B lacks). */
  readonly changedTypeIds: Uint32Array;
  /** Base string offsets the module uses whose string differs on B (or that B lacks). */
  readonly changedStringOffsets: Uint32Array;
  /** B has A's nr_types and str_len, so the module's own ids and strings are where it expects. */
  readonly sameLayout: boolean;
  /** Every reference means the same on B and the layout matches: the module's BTF is correct on B. */
  readonly equivalent: boolean;
}

/** Check a module's base references (taken against `diff.a`) against a precomputed base diff. */
export function checkModuleRefs(refs: ModuleBaseRefs, diff: BaseDiff): ModuleRefCheck {
  if (refs.startId !== diff.a.nrTypes || refs.startStrOff !== diff.a.strLen) {
    throw new BtfError(
      'BTF_BASE_MISMATCH',
      `module references were taken against a base with nr_types ${refs.startId}, str_len ${refs.startStrOff}; ` +
        `the diff starts from nr_types ${diff.a.nrTypes}, str_len ${diff.a.strLen}`,
    );
  }
  const types: number[] = [];
  for (const id of refs.typeIds) if (diff.isTypeChanged(id)) types.push(id);
  const strs: number[] = [];
  for (const off of refs.stringOffsets) if (diff.isStringChanged(off)) strs.push(off);
  const sameLayout = diff.sameLayout;
  return {
    changedTypeIds: Uint32Array.from(types),
    changedStringOffsets: Uint32Array.from(strs),
    sameLayout,
    equivalent: sameLayout && types.length === 0 && strs.length === 0,
  };
}
