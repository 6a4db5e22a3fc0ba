import { createHash } from 'node:crypto';
import { isWeakUpdatesPair, previousUploads } from '@btfwatch/compat';
import {
  dependentModulePackages,
  getKernel,
  kernelExportBlobs,
  kernelPackageNames,
  kernelsByBaseBtf,
  moduleInputs,
  selectEvaluationModules,
  siblingBuilds,
  type Database,
  type EvaluationModule,
  type KernelBuild,
  type ModuleSelection,
} from '@btfwatch/db';

/** Which module builds matter to a kernel build, as a selection (cheap: no module rows loaded). */
export interface Relevance {
  selection: ModuleSelection;
  /** Earlier uploads of the same flavour and series whose in-tree modules are checked. */
  previous: KernelBuild[];
  /**
   * Separate module packages declaring a dependency on one of the kernel build's packages, or on one of an
   * earlier kernel's of its kABI stream (RHEL weak-updates links those kmods into this build).
   */
  dependents: string[];
}

export interface RelevantModules {
  modules: EvaluationModule[];
  previous: KernelBuild[];
  /** Build bases found for separate module packages during this evaluation, by package sha256. */
  declaredBase: Map<string, { sha256: string; how: string }>;
}

/**
 * The module builds that matter to kernel build K (DESIGN §2): its own, every module built for the same
 * release string or with the same vermagic, separate module packages depending on K's packages (or, in a
 * RHEL kABI stream, on an earlier kernel's: weak-updates links them into K), and the in-tree modules of the
 * previous uploads of the same flavour — the ones an ABI-compatible upload keeps loading.
 */
export async function relevance(db: Database, kernel: KernelBuild): Promise<Relevance> {
  const siblings = await siblingBuilds(db, kernel);
  const previous = previousUploads(kernel, siblings);
  const linkedFrom = siblings.filter((built) => isWeakUpdatesPair(built, kernel));
  const names = new Set(await kernelPackageNames(db, kernel.id));
  for (const built of linkedFrom) for (const n of await kernelPackageNames(db, built.id)) names.add(n);
  const dependents = await dependentModulePackages(db, [...names].sort());
  return {
    selection: {
      kernelBuildIds: [kernel.id, ...previous.map((k) => k.id)],
      releases: [kernel.release],
      vermagics: kernel.vermagic ? [kernel.vermagic] : [],
      packageSha256s: dependents,
      arch: kernel.arch,
    },
    previous,
    dependents,
  };
}

export async function relevantModules(
  db: Database,
  kernel: KernelBuild,
  known?: Relevance,
): Promise<RelevantModules> {
  const r = known ?? (await relevance(db, kernel));
  return {
    modules: await selectEvaluationModules(db, r.selection),
    previous: r.previous,
    declaredBase: new Map(),
  };
}

/**
 * A short summary of everything an evaluation of K reads: K's own facts, which packages' module builds
 * matter to it, and the build base each of those has. Same summary, same verdicts; the evaluate job id
 * carries it, so new inputs queue a new evaluation and repeated ones dedupe.
 */
export async function evaluationInputs(
  db: Database,
  kernel: KernelBuild,
  known?: Relevance,
): Promise<string> {
  const r = known ?? (await relevance(db, kernel));
  const inputs = await moduleInputs(db, r.selection);
  return createHash('sha256')
    .update(
      JSON.stringify([
        kernel.baseBtfSha256,
        kernel.symversSha256,
        await kernelExportBlobs(db, kernel.id),
        kernel.config,
        kernel.vermagic,
        kernel.kernelVersion,
        inputs.map((i) => `${i.packageSha256}:${i.buildBaseSha256 ?? ''}`),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
}

/** The kernel a compat query names: a numeric id or a base BTF sha256 (the newest build with it). */
export async function resolveKernel(db: Database, ref: string): Promise<KernelBuild | undefined> {
  if (/^[0-9]{1,10}$/.test(ref)) return getKernel(db, Number(ref));
  return (await kernelsByBaseBtf(db, ref.toLowerCase()))[0];
}
