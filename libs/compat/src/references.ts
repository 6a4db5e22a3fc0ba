import {
  Btf,
  checkModuleRefs,
  diffBases,
  diffNamedTypes,
  moduleBaseRefs,
  relocateModuleBtf,
  type BaseDiff,
} from '@btfwatch/btf';
import type { BtfAssessmentDeps, ReferenceComparison } from './verdict.ts';

/**
 * Base-pair diffs (build base → booted base) computed once and reused for every module of the pair,
 * as DESIGN §2 "Scale" asks: each module then costs one pass over its own records plus lookups.
 */
export class PairDiffCache {
  private readonly cache = new Map<string, BaseDiff>();
  constructor(private readonly capacity = 16) {}

  get(buildBase: Btf, kernelBase: Btf): BaseDiff {
    const key = `${buildBase.sha256}>${kernelBase.sha256}`;
    let diff = this.cache.get(key);
    if (!diff) {
      diff = diffBases(buildBase, kernelBase);
      this.cache.set(key, diff);
      if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    }
    return diff;
  }
}

export function btfAssessmentDeps(pairs = new PairDiffCache()): BtfAssessmentDeps {
  return {
    // The kernel's btf_relocate: its pr_warn line and errno (-EINVAL or -ENOENT) on failure.
    relocate: relocateModuleBtf,
    compareReferences(split: Uint8Array, buildBase: Btf, kernelBase: Btf): ReferenceComparison {
      const refs = moduleBaseRefs(Btf.parse(split, buildBase));
      const check = checkModuleRefs(refs, pairs.get(buildBase, kernelBase));
      return {
        changedTypeIds: [...check.changedTypeIds],
        changedStringOffsets: [...check.changedStringOffsets],
        referencedTypes: refs.typeIds.length,
        referencedStrings: refs.stringOffsets.length,
      };
    },
  };
}

/** Kernel A vs B for humans: same-id changes (what modules see) and named types added, removed, changed. */
export function describeBaseDiff(a: Btf, b: Btf): Record<string, unknown> {
  const same = diffBases(a, b);
  const named = diffNamedTypes(a, b);
  const sample = (list: ReadonlyArray<{ kindName: string; name: string }>) =>
    list.slice(0, 100).map((e) => `${e.kindName} ${e.name}`);
  return {
    sameLayout: same.sameLayout,
    changedTypeIds: same.changedTypeIds.length,
    changedTypeRecords: same.recordChanged,
    changedStringRanges: same.changedStringRanges.length / 2,
    named: {
      counts: named.counts,
      added: sample(named.added),
      removed: sample(named.removed),
      changed: sample(named.changed),
    },
  };
}
