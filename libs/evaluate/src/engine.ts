import {
  assessBtfFromFacts,
  btfAssessmentDeps,
  judgeModule,
  parseModuleSymvers,
  type BtfAssessmentDeps,
  type BuildBase,
  type ExportedSymbol,
  type KernelFacts,
} from '@btfwatch/compat';
import {
  getBlob,
  getBlobs,
  importedCrcsOf,
  kernelExportBlobs,
  type Database,
  type EvaluationModule,
  type KernelBuild,
  type NewVerdict,
} from '@btfwatch/db';
import type { BaseCache } from './bases.ts';
import { StoredPairDiffs } from './pairs.ts';

/** A kernel build with the facts its verdicts read (KernelFacts: `btf` and `abi`). */
export interface KernelContext extends KernelFacts {
  kernel: KernelBuild;
}

export interface ModuleVerdict<M extends EvaluationModule = EvaluationModule> {
  row: NewVerdict;
  module: M;
}

export interface EvaluateOptions<M extends EvaluationModule> {
  /** A build base for modules whose row has none (e.g. one the caller knows by other means). */
  buildBaseOf?: (m: M) => { sha256: string; how: string } | null;
  onProgress?: (done: number) => void | Promise<void>;
}

/** Modules per batch: their blobs and CRCs are fetched in one round trip each. */
const BATCH = 200;

/** What one batch needs from the database besides the module rows. */
interface BatchInputs {
  buildBases: Map<number, BuildBase | null>;
  /** For the modules whose verdict is not decided from facts alone: their .BTF and .BTF.base. */
  blobs: Map<string, Uint8Array>;
  crcs: Map<number, Array<[string, number]>>;
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

  /** Parsed Module.symvers-form blobs, by the sha256s they came from (a few kernels' worth). */
  private async exportsOf(hashes: string[]): Promise<Map<string, ExportedSymbol> | null> {
    if (hashes.length === 0) return null;
    const key = hashes.join(',');
    const hit = this.symvers.get(key);
    if (hit) return hit;
    const merged = new Map<string, ExportedSymbol>();
    for (const sha of hashes) {
      const text = await getBlob(this.db, sha);
      if (!text) return null;
      for (const [symbol, e] of parseModuleSymvers(Buffer.from(text).toString('utf8'))) merged.set(symbol, e);
    }
    this.symvers.set(key, merged);
    if (this.symvers.size > 8) this.symvers.delete(this.symvers.keys().next().value!);
    return merged;
  }

  /**
   * K's facts as verdicts read them. Its exports: Module.symvers (every symbol the build exports) where its
   * headers were scanned, else what its image and the modules of its packages scanned export (complete for
   * the vmlinux, maybe not for modules in packages not seen).
   */
  async kernelContext(kernel: KernelBuild): Promise<KernelContext> {
    const base = kernel.baseBtfSha256 ? await this.bases.get(kernel.baseBtfSha256) : null;
    const symvers = kernel.symversSha256 ? await this.exportsOf([kernel.symversSha256]) : null;
    const image = symvers ? null : await this.exportsOf(await kernelExportBlobs(this.db, kernel.id));
    const exports = symvers ?? image;
    return {
      kernel,
      btf: {
        base,
        baseSha256: kernel.baseBtfSha256,
        kernelVersion: kernel.kernelVersion,
        flags: kernel.config ?? null,
      },
      abi: {
        vermagic: kernel.vermagic,
        modversions: kernel.config ? kernel.config.MODVERSIONS : null,
        exports,
        exportsComplete: symvers !== null,
        ...(symvers
          ? {}
          : image
            ? {
                unknownWhy:
                  "the kernel's exports are known from its image and the module packages scanned; its Module.symvers (headers package) was not scanned",
              }
            : {
                unknownWhy:
                  "no CRCs in the kernel's image (a raw image, or no MODVERSIONS) and its headers package (Module.symvers) was not scanned",
              }),
      },
    };
  }

  /**
   * Verdicts of `modules` on the kernel. Only what a verdict needs is read: a module's BTF when facts
   * alone (e.g. the same base as the kernel's) do not decide it, its CRCs when the kernel's vermagic is
   * known. The next batch is read while the current one is checked.
   */
  async evaluate<M extends EvaluationModule>(
    ctx: KernelContext,
    modules: M[],
    options: EvaluateOptions<M> = {},
  ): Promise<Array<ModuleVerdict<M>>> {
    const out: Array<ModuleVerdict<M>> = [];
    const batches: M[][] = [];
    for (let i = 0; i < modules.length; i += BATCH) batches.push(modules.slice(i, i + BATCH));
    let next = batches[0] ? this.batchInputs(ctx, batches[0], options) : undefined;
    for (const [i, batch] of batches.entries()) {
      const inputs = await next!;
      next = batches[i + 1] ? this.batchInputs(ctx, batches[i + 1]!, options) : undefined;
      // Awaited on the next turn; until then a failure must not count as unhandled.
      next?.catch(() => undefined);
      for (const m of batch) out.push({ module: m, row: await this.verdict(ctx, m, inputs) });
      await options.onProgress?.(out.length);
      // Let timers (queue lock renewal, HTTP) run between batches of CPU work.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  private async buildBase<M extends EvaluationModule>(
    m: M,
    options: EvaluateOptions<M>,
  ): Promise<BuildBase | null> {
    const base = m.buildBaseSha256
      ? { sha256: m.buildBaseSha256, how: m.buildBaseHow ?? 'same-build' }
      : (options.buildBaseOf?.(m) ?? null);
    const btf = base ? await this.bases.get(base.sha256) : null;
    return base && btf ? { btf, sha256: base.sha256, how: base.how } : null;
  }

  private decidedFromFacts(ctx: KernelContext, m: EvaluationModule, buildBase: BuildBase | null) {
    return assessBtfFromFacts(
      { hasBtf: m.btfSha256 !== null, buildBaseSha256: buildBase?.sha256 ?? null },
      ctx.btf,
    );
  }

  private async batchInputs<M extends EvaluationModule>(
    ctx: KernelContext,
    batch: M[],
    options: EvaluateOptions<M>,
  ): Promise<BatchInputs> {
    const buildBases = new Map<number, BuildBase | null>();
    const hashes: string[] = [];
    for (const m of batch) {
      const buildBase = await this.buildBase(m, options);
      buildBases.set(m.id, buildBase);
      if (this.decidedFromFacts(ctx, m, buildBase)) continue;
      if (m.btfSha256) hashes.push(m.btfSha256);
      if (m.btfBaseSha256) hashes.push(m.btfBaseSha256);
    }
    // Without the kernel's vermagic the ABI is unknown whatever a module imports.
    const crcIds =
      ctx.abi.vermagic === null
        ? []
        : batch.filter((m) => !m.importedCrcs && m.vermagic !== null).map((m) => m.id);
    const [blobs, crcs] = await Promise.all([getBlobs(this.db, hashes), importedCrcsOf(this.db, crcIds)]);
    return { buildBases, blobs, crcs };
  }

  private async verdict(ctx: KernelContext, m: EvaluationModule, inputs: BatchInputs): Promise<NewVerdict> {
    const buildBase = inputs.buildBases.get(m.id) ?? null;
    const kernelBase = ctx.btf.base;
    // Same counts, different bases: the module is checked against the pair's diff (from the database
    // when any process computed it before), loaded here so the synchronous comparison finds it.
    if (
      buildBase &&
      kernelBase &&
      buildBase.sha256 !== kernelBase.sha256 &&
      buildBase.btf.nrTypes === kernelBase.nrTypes &&
      buildBase.btf.strLen === kernelBase.strLen &&
      !this.decidedFromFacts(ctx, m, buildBase)
    )
      await this.pairs.load(buildBase.btf, kernelBase);
    const judged = judgeModule(
      {
        name: m.name,
        hasBtf: m.btfSha256 !== null,
        btf: m.btfSha256 ? (inputs.blobs.get(m.btfSha256) ?? null) : null,
        btfBase: m.btfBaseSha256 ? (inputs.blobs.get(m.btfBaseSha256) ?? null) : null,
        buildBase,
        vermagic: m.vermagic,
        importedCrcs: m.importedCrcs ?? inputs.crcs.get(m.id) ?? [],
      },
      ctx,
      this.deps,
    );
    return {
      moduleBuildId: m.id,
      kernelBuildId: ctx.kernel.id,
      btf: judged.btf,
      load: judged.load,
      loadReason: judged.loadReason,
      abi: judged.abi,
      evidence: judged.evidence,
    };
  }
}
