import { compareDebianVersions } from '@btfwatch/compat';
import { kernelsForModules, siblingBuilds, type Database, type KernelBuild } from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import type { JobQueue } from '@btfwatch/jobs';
import { evaluationInputs, relevance } from './relevant.ts';

/** What a set of module builds is, as far as finding the kernel builds they matter to goes. */
export interface ModuleReach {
  releases: string[];
  vermagics: string[];
  /** Package names the modules' (separate) package depends on; empty for in-tree modules. */
  dependsOn: string[];
}

/**
 * Kernel builds whose evaluation reads what changed: the kernel builds named (a package of theirs was
 * stored), their newer siblings (they check earlier uploads' modules), and every build the modules
 * matter to (same release or vermagic, or a declared dependency on one of its packages).
 */
export async function kernelsAffected(
  db: Database,
  kernels: KernelBuild[],
  reach: ModuleReach,
): Promise<KernelBuild[]> {
  const out = new Map(kernels.map((k) => [k.id, k]));
  for (const k of kernels) {
    for (const s of await siblingBuilds(db, k)) {
      if (compareDebianVersions(s.version, k.version) > 0) out.set(s.id, s);
    }
  }
  for (const k of await kernelsForModules(db, reach)) out.set(k.id, k);
  return [...out.values()].sort((a, b) => a.id - b.id);
}

/**
 * Queues an evaluation of each kernel build (with a base BTF) under an id made of its current inputs:
 * a kernel whose inputs are unchanged since its last evaluation is not evaluated again.
 */
export async function queueEvaluations(
  db: Database,
  queue: JobQueue,
  kernels: KernelBuild[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const k of kernels) {
    if (!k.baseBtfSha256) continue;
    const inputs = await evaluationInputs(db, k, await relevance(db, k));
    ids.push(
      await queue.enqueue(
        'evaluate-kernel',
        { kernelBuildId: k.id, inputs },
        { jobId: jobIds.evaluate(k.id, inputs) },
      ),
    );
  }
  return ids;
}
