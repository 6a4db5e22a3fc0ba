import {
  admittedKernels,
  byPackageLackingBase,
  chooseBuildBase,
  dependencyNames,
  type BaseCandidate,
} from '@btfwatch/compat';
import {
  getBlobs,
  kernelsByPackageName,
  setBuildBase,
  type Database,
  type EvaluationModule,
  type KernelBuild,
} from '@btfwatch/db';
import type { JobQueue } from '@btfwatch/jobs';
import type { BaseCache } from './bases.ts';
import { kernelsAffected, queueEvaluations, type ModuleReach } from './queue-evaluations.ts';

export interface InferredBase {
  packageSha256: string;
  /** The base BTF the package's modules were generated against. */
  sha256: string;
  /** The candidate kernel build whose base it is. */
  kernelBuildId: number;
  moduleIds: number[];
}

/**
 * Build bases of separate module packages (DESIGN §1): the kernel builds whose packages the module
 * package declares a dependency on are the candidates (chooseBuildBase decides among them). What is found
 * is stored as `validated` on the module rows; no passing candidate, or several, leaves the base unknown.
 */
export async function inferBuildBases(
  db: Database,
  bases: BaseCache,
  modules: readonly EvaluationModule[],
): Promise<InferredBase[]> {
  const found: InferredBase[] = [];
  for (const [packageSha256, list] of byPackageLackingBase(modules)) {
    const depends = list[0]!.depends;
    const declared = await kernelsByPackageName(db, dependencyNames(depends));
    const kernels = new Map(admittedKernels(depends, declared).map((k) => [k.id, k]));
    if (kernels.size === 0) continue;
    const candidates: BaseCandidate[] = [];
    for (const k of kernels.values()) {
      const base = k.baseBtfSha256 ? await bases.get(k.baseBtfSha256) : null;
      if (base)
        candidates.push({
          kernelBuildId: k.id,
          baseSha256: k.baseBtfSha256!,
          base,
          kernelVersion: k.kernelVersion,
        });
    }
    const blobs = await getBlobs(
      db,
      list.map((m) => m.btfSha256!),
    );
    const chosen = chooseBuildBase(
      candidates,
      list.map((m) => ({ name: m.name, btf: blobs.get(m.btfSha256!) })),
    );
    if (!chosen) continue;
    const moduleIds = list.map((m) => m.id);
    await setBuildBase(db, moduleIds, chosen.sha256, 'validated');
    found.push({ packageSha256, sha256: chosen.sha256, kernelBuildId: chosen.kernelBuildId, moduleIds });
  }
  return found;
}

/** `modules` with the bases just inferred applied (new objects; the input is left as it was). */
export function withInferredBases<M extends EvaluationModule>(
  modules: readonly M[],
  inferred: InferredBase[],
): M[] {
  const baseOf = new Map<number, string>();
  for (const i of inferred) for (const id of i.moduleIds) baseOf.set(id, i.sha256);
  return modules.map((m) => {
    const sha = baseOf.get(m.id);
    return sha ? { ...m, buildBaseSha256: sha, buildBaseHow: 'validated' } : m;
  });
}

/** Where the modules whose base was just found matter: their releases, vermagics and dependencies. */
function reachOf(modules: readonly EvaluationModule[], inferred: InferredBase[]): ModuleReach {
  const ids = new Set(inferred.flatMap((i) => i.moduleIds));
  const mine = modules.filter((m) => ids.has(m.id));
  const distinct = (values: Array<string | null>) =>
    [...new Set(values.filter((v): v is string => !!v))].sort();
  return {
    releases: distinct(mine.map((m) => m.release)),
    vermagics: distinct(mine.map((m) => m.vermagic)),
    dependsOn: dependencyNames(mine.flatMap((m) => m.depends)),
  };
}

/**
 * Call before evaluating module builds on demand (an API query, say): the build bases of separate module
 * packages among `modules` that have none yet are inferred (`inferBuildBases`) and stored, and every kernel
 * build whose verdicts that changes gets its evaluation queued — except `except`, whose caller evaluates
 * it now. Returns the modules with those bases applied. A module whose base stays unknown is evaluated as
 * such (`unverified`), never assumed built on the kernel asked about.
 */
export async function settleBuildBases<M extends EvaluationModule>(
  deps: { db: Database; queue: JobQueue; bases: BaseCache },
  modules: readonly M[],
  except?: KernelBuild,
): Promise<{ modules: M[]; inferred: InferredBase[] }> {
  const inferred = await inferBuildBases(deps.db, deps.bases, modules);
  if (inferred.length > 0) {
    const affected = await kernelsAffected(deps.db, [], reachOf(modules, inferred));
    await queueEvaluations(
      deps.db,
      deps.queue,
      affected.filter((k) => k.id !== except?.id),
    );
  }
  return { modules: withInferredBases(modules, inferred), inferred };
}
