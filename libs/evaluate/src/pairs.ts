import { BaseDiff, diffBases, type Btf } from '@btfwatch/btf';
import { getBasePair, putBasePair, type Database } from '@btfwatch/db';
import { PairDiffCache } from '@btfwatch/compat';

const FORMAT = 1;
const HEADER_WORDS = 8;

/** A base diff as stored in `base_pairs.diff`: counts, then changed ids and string ranges (u32 LE). */
export function packBaseDiff(diff: BaseDiff): Uint8Array {
  const ids = diff.changedTypeIds;
  const ranges = diff.changedStringRanges;
  const out = Buffer.alloc((HEADER_WORDS + ids.length + ranges.length) * 4);
  const header = [
    FORMAT,
    diff.a.nrTypes,
    diff.a.strLen,
    diff.b.nrTypes,
    diff.b.strLen,
    diff.recordChanged,
    ids.length,
    ranges.length,
  ];
  let at = 0;
  for (const word of [...header, ...ids, ...ranges]) at = out.writeUInt32LE(word, at);
  return out;
}

/** The stored form back; null when it is not one this code wrote (then the pair is computed again). */
export function unpackBaseDiff(bytes: Uint8Array, from: string, to: string): BaseDiff | null {
  if (bytes.byteLength < HEADER_WORDS * 4 || bytes.byteLength % 4 !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const word = (i: number) => view.getUint32(i * 4, true);
  const [format, aTypes, aStr, bTypes, bStr, recordChanged, nIds, nRanges] = Array.from(
    { length: HEADER_WORDS },
    (_, i) => word(i),
  ) as [number, number, number, number, number, number, number, number];
  if (format !== FORMAT || HEADER_WORDS + nIds + nRanges !== bytes.byteLength / 4) return null;
  const ids = new Uint32Array(nIds);
  for (let i = 0; i < nIds; i++) ids[i] = word(HEADER_WORDS + i);
  const ranges = new Uint32Array(nRanges);
  for (let i = 0; i < nRanges; i++) ranges[i] = word(HEADER_WORDS + nIds + i);
  return new BaseDiff(
    { sha256: from, nrTypes: aTypes, strLen: aStr },
    { sha256: to, nrTypes: bTypes, strLen: bStr },
    ids,
    ranges,
    recordChanged,
  );
}

/**
 * Base-pair diffs kept in the database (`base_pairs`), so every worker process and the API reuse a pair
 * computed once anywhere (DESIGN §2 "Scale"). `load` is awaited before a pair's modules are checked;
 * the synchronous `get` the reference comparison calls then answers from memory.
 */
export class StoredPairDiffs extends PairDiffCache {
  private readonly loaded = new Map<string, BaseDiff>();
  /** Pairs computed by this process (the rest were read from the database). */
  computed = 0;

  constructor(
    private readonly db: Database,
    private readonly keep = 16,
  ) {
    super(keep);
  }

  override get(buildBase: Btf, kernelBase: Btf): BaseDiff {
    return this.loaded.get(pairKey(buildBase, kernelBase)) ?? super.get(buildBase, kernelBase);
  }

  async load(buildBase: Btf, kernelBase: Btf): Promise<BaseDiff> {
    const key = pairKey(buildBase, kernelBase);
    const hit = this.loaded.get(key);
    if (hit) {
      this.loaded.delete(key);
      this.loaded.set(key, hit);
      return hit;
    }
    const row = await getBasePair(this.db, buildBase.sha256, kernelBase.sha256);
    let diff = row ? unpackBaseDiff(row.diff, buildBase.sha256, kernelBase.sha256) : null;
    if (!diff) {
      diff = diffBases(buildBase, kernelBase);
      this.computed++;
      await putBasePair(this.db, {
        fromSha256: buildBase.sha256,
        toSha256: kernelBase.sha256,
        changedTypes: diff.changedTypeIds.length,
        changedStrings: diff.changedStringBytes,
        diff: packBaseDiff(diff),
      });
    }
    this.loaded.set(key, diff);
    if (this.loaded.size > this.keep) this.loaded.delete(this.loaded.keys().next().value!);
    return diff;
  }
}

function pairKey(a: Btf, b: Btf): string {
  return `${a.sha256}>${b.sha256}`;
}
