import {
  assessBtf,
  baseEvidence,
  checkAbi,
  parseModuleSymvers,
  predictLoad,
  type AbiKernel,
  type BtfAssessmentDeps,
  type BuildBase,
  type ExportedSymbol,
  type KernelBtfSide,
} from '@btfwatch/compat';
import {
  getBlob,
  getBlobs,
  type Database,
  type KernelBuild,
  type ModuleWithPackage,
  type NewVerdict,
} from '@btfwatch/db';
import type { BaseCache } from './bases.ts';
import { StoredPairDiffs } from './pairs.ts';
import { btfAssessmentDeps } from './references.ts';

export interface KernelContext {
  kernel: KernelBuild;
  side: KernelBtfSide;
  abi: AbiKernel;
}

export interface ModuleVerdict {
  row: NewVerdict;
  module: ModuleWithPackage;
}

/** Turns (module build, kernel build) pairs into stored verdicts with evidence. */
export class Evaluator {
  private readonly symvers = new Map<string, Map<string, ExportedSymbol>>();
  /** Base-pair diffs shared through the database with every other evaluator. */
  readonly pairs: StoredPairDiffs;
  /** What assessBtf needs: the given relocation, and reference comparison through `pairs`. */
  readonly deps: BtfAssessmentDeps;

  constructor(
    private readonly db: Database,
    readonly bases: BaseCache,
    assessment: Pick<BtfAssessmentDeps, 'relocate'>,
  ) {
    this.pairs = new StoredPairDiffs(db);
    this.deps = { ...assessment, compareReferences: btfAssessmentDeps(this.pairs).compareReferences };
  }

  async kernelContext(kernel: KernelBuild): Promise<KernelContext> {
    const base = kernel.baseBtfSha256 ? await this.bases.get(kernel.baseBtfSha256) : null;
    let exports: Map<string, ExportedSymbol> | null = null;
    if (kernel.symversSha256) {
      exports = this.symvers.get(kernel.symversSha256) ?? null;
      if (!exports) {
        const text = await getBlob(this.db, kernel.symversSha256);
        if (text) {
          exports = parseModuleSymvers(Buffer.from(text).toString('utf8'));
          this.symvers.set(kernel.symversSha256, exports);
          if (this.symvers.size > 8) this.symvers.delete(this.symvers.keys().next().value!);
        }
      }
    }
    return {
      kernel,
      side: {
        base,
        baseSha256: kernel.baseBtfSha256,
        kernelVersion: kernel.kernelVersion,
        flags: kernel.config ?? null,
      },
      abi: { vermagic: kernel.vermagic, modversions: kernel.config?.MODVERSIONS ?? false, exports },
    };
  }

  /**
   * Verdicts of `modules` on the kernel. `buildBaseOf` supplies a build base for modules whose row has none
   * (e.g. a separate module package declaring a dependency on a kernel package).
   */
  async evaluate(
    ctx: KernelContext,
    modules: ModuleWithPackage[],
    options: {
      buildBaseOf?: (m: ModuleWithPackage) => { sha256: string; how: string } | null;
      onProgress?: (done: number) => void | Promise<void>;
    } = {},
  ): Promise<ModuleVerdict[]> {
    const out: ModuleVerdict[] = [];
    for (let i = 0; i < modules.length; i += 200) {
      const batch = modules.slice(i, i + 200);
      const hashes = batch.flatMap((m) => [m.btfSha256, m.btfBaseSha256].filter((h): h is string => !!h));
      const blobs = await getBlobs(this.db, hashes);
      for (const m of batch) {
        const base = m.buildBaseSha256
          ? { sha256: m.buildBaseSha256, how: m.buildBaseHow ?? 'same-build' }
          : (options.buildBaseOf?.(m) ?? null);
        const baseBtf = base ? await this.bases.get(base.sha256) : null;
        const buildBase: BuildBase | null =
          base && baseBtf ? { btf: baseBtf, sha256: base.sha256, how: base.how } : null;
        const kernelBase = ctx.side.base;
        // Same counts, different bases: the module is checked against the pair's diff (from the database
        // when any process computed it before).
        if (
          buildBase &&
          kernelBase &&
          buildBase.sha256 !== ctx.side.baseSha256 &&
          buildBase.btf.nrTypes === kernelBase.nrTypes &&
          buildBase.btf.strLen === kernelBase.strLen
        )
          await this.pairs.load(buildBase.btf, kernelBase);
        const moduleSide = {
          name: m.name,
          btf: m.btfSha256 ? (blobs.get(m.btfSha256) ?? null) : null,
          btfBase: m.btfBaseSha256 ? (blobs.get(m.btfBaseSha256) ?? null) : null,
          buildBase,
        };
        const btf = assessBtf(moduleSide, ctx.side, this.deps);
        const abi = checkAbi({ vermagic: m.vermagic, importedCrcs: m.importedCrcs }, ctx.abi);
        const load = predictLoad(btf.btf, abi, ctx.side.flags);
        out.push({
          module: m,
          row: {
            moduleBuildId: m.id,
            kernelBuildId: ctx.kernel.id,
            btf: btf.btf,
            load: load.load,
            loadReason: load.reason,
            abi: abi.abi,
            evidence: {
              explanation: `${btf.explanation}; ${load.reason}`,
              ...baseEvidence(ctx.side, moduleSide),
              kernelLog: btf.kernelLog,
              onceLog: btf.onceLog,
              validation: btf.validation,
              references: btf.references,
              abi: {
                vermagicMatch: abi.vermagicMatch,
                reason: abi.reason,
                mismatchCount: abi.mismatchCount,
                mismatches: abi.mismatches,
              },
            },
          },
        });
      }
      await options.onProgress?.(Math.min(i + 200, modules.length));
      // Let timers (queue lock renewal, HTTP) run between batches of CPU work.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }
}
