import { validateModuleBtf } from '@btfwatch/btf';
import { compareDebianVersions } from '@btfwatch/compat';
import {
  dependencyNames,
  getBlobs,
  kernelsByPackageName,
  pinnedVersions,
  setBuildBase,
  type Database,
  type KernelBuild,
} from '@btfwatch/db';
import type { JobQueue } from '../queue/types.ts';
import type { BaseCache } from './bases.ts';
import { lacksBuildBase, type EvaluationModule } from './module-rows.ts';
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
 * package declares a dependency on are the candidates (only the pinned version where a dependency pins
 * one); the build base is the single candidate base that every module's BTF validates against the way
 * that kernel validates it. It is stored as `validated` on the module rows (and patched into `modules`);
 * no passing candidate, or several different ones, leaves the base unknown.
 */
export async function inferBuildBases(
  db: Database,
  bases: BaseCache,
  modules: EvaluationModule[],
): Promise<InferredBase[]> {
  const byPackage = new Map<string, EvaluationModule[]>();
  for (const m of modules) {
    if (!lacksBuildBase(m)) continue;
    const list = byPackage.get(m.packageSha256) ?? [];
    list.push(m);
    byPackage.set(m.packageSha256, list);
  }
  const found: InferredBase[] = [];
  for (const [packageSha256, list] of byPackage) {
    const depends = list[0]!.depends;
    const pins = pinnedVersions(depends);
    const candidates = new Map<number, KernelBuild>();
    for (const c of await kernelsByPackageName(db, dependencyNames(depends))) {
      const pin = pins.get(c.packageName);
      if (pin === undefined || compareDebianVersions(pin, c.packageVersion) === 0)
        candidates.set(c.kernel.id, c.kernel);
    }
    if (candidates.size === 0) continue;
    const blobs = await getBlobs(
      db,
      list.map((m) => m.btfSha256!),
    );
    const passing = new Map<string, number>();
    for (const k of candidates.values()) {
      const base = await bases.get(k.baseBtfSha256!);
      if (!base || passing.has(k.baseBtfSha256!)) continue;
      const target = { kernelVersion: k.kernelVersion ?? '0.0.0', allowBtfMismatch: false };
      const all = list.every((m) => {
        const btf = blobs.get(m.btfSha256!);
        if (!btf) return false;
        const verdict = validateModuleBtf(btf, base, target, m.name);
        return verdict.ok && verdict.btf === 'loaded';
      });
      if (all) passing.set(k.baseBtfSha256!, k.id);
    }
    if (passing.size !== 1) continue;
    const [[sha256, kernelBuildId]] = [...passing] as [[string, number]];
    const moduleIds = list.map((m) => m.id);
    await setBuildBase(db, moduleIds, sha256, 'validated');
    for (const m of list) {
      m.buildBaseSha256 = sha256;
      m.buildBaseHow = 'validated';
    }
    found.push({ packageSha256, sha256, kernelBuildId, moduleIds });
  }
  return found;
}

/** Where the modules whose base was just found matter: their releases, vermagics and dependencies. */
function reachOf(modules: EvaluationModule[], inferred: InferredBase[]): ModuleReach {
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
 * packages among `modules` that have none yet are inferred (`inferBuildBases`: validated against the
 * kernel builds their package depends on, stored, patched into `modules`), and every kernel build whose
 * verdicts that changes gets its evaluation queued — except `except`, whose caller evaluates it now.
 * A module whose base stays unknown is evaluated as such (`unverified`), never assumed built on the
 * kernel asked about.
 */
export async function settleBuildBases(
  deps: { db: Database; queue: JobQueue; bases: BaseCache },
  modules: EvaluationModule[],
  except?: KernelBuild,
): Promise<InferredBase[]> {
  const inferred = await inferBuildBases(deps.db, deps.bases, modules);
  if (inferred.length > 0) {
    const affected = await kernelsAffected(deps.db, [], reachOf(modules, inferred));
    await queueEvaluations(
      deps.db,
      deps.queue,
      affected.filter((k) => k.id !== except?.id),
    );
  }
  return inferred;
}
