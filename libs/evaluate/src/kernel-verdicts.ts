import { getKernel, selectEvaluationModules, type Database, type KernelBuild } from '@btfwatch/db';
import { jobIds, type JobQueue } from '@btfwatch/jobs';
import { settleBuildBases, type InferredBase } from './build-base.ts';
import type { Evaluator, ModuleVerdict } from './engine.ts';
import { evaluationInputs, relevance, type RelevantModules } from './relevant.ts';

export interface KernelVerdicts {
  relevant: RelevantModules;
  verdicts: ModuleVerdict[];
  /** Build bases of separate module packages found (and stored) on the way. */
  inferred: InferredBase[];
  /** Summary of the inputs the verdicts were computed from. */
  inputs: string;
  /**
   * Whether the inputs are still what the verdicts were computed from; when they are not, the job for the
   * current inputs is queued (or found queued) and its id returned.
   */
  supersededBy(): Promise<string | null>;
}

export interface KernelVerdictDeps {
  db: Database;
  queue: JobQueue;
  evaluator: Evaluator;
}

/** Queues (or finds) the evaluation of `kernel` for its current inputs; returns its id. */
async function handOver(deps: KernelVerdictDeps, kernel: KernelBuild, inputs: string): Promise<string> {
  return deps.queue.enqueue(
    'evaluate-kernel',
    { kernelBuildId: kernel.id, inputs },
    { jobId: jobIds.evaluate(kernel.id, inputs) },
  );
}

/**
 * Verdicts of every module build that matters to `kernel`. `expected` is the input summary the job was
 * queued for: when the inputs changed since, a newer job is (or gets) queued for them, and this run
 * returns that job's id instead of computing verdicts that would be stale.
 */
export async function kernelVerdicts(
  deps: KernelVerdictDeps,
  kernel: KernelBuild,
  expected: string | undefined,
  onProgress: (done: number, of: number) => void | Promise<void>,
): Promise<KernelVerdicts | { handedOverTo: string }> {
  const { db } = deps;
  const r = await relevance(db, kernel);
  const before = await evaluationInputs(db, kernel, r);
  if (expected !== undefined && before !== expected)
    return { handedOverTo: await handOver(deps, kernel, before) };
  // A base found here changes the verdicts of those modules on every other kernel build they matter to:
  // those are queued; this one is evaluated now.
  const { modules, inferred } = await settleBuildBases(
    { db, queue: deps.queue, bases: deps.evaluator.bases },
    await selectEvaluationModules(db, r.selection),
    kernel,
  );
  const inputs = inferred.length > 0 ? await evaluationInputs(db, kernel, r) : before;
  const ctx = await deps.evaluator.kernelContext(kernel);
  const verdicts = await deps.evaluator.evaluate(ctx, modules, {
    onProgress: (done) => onProgress(done, modules.length),
  });
  const declaredBase = new Map(
    inferred.map((i) => [i.packageSha256, { sha256: i.sha256, how: 'validated' }]),
  );
  return {
    relevant: { modules, previous: r.previous, declaredBase },
    verdicts,
    inferred,
    inputs,
    supersededBy: async () => {
      const fresh = (await getKernel(db, kernel.id)) ?? kernel;
      const now = await evaluationInputs(db, fresh, await relevance(db, fresh));
      return now === inputs ? null : handOver(deps, fresh, now);
    },
  };
}
