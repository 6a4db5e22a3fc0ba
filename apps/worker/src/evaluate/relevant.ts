import { compareDebianVersions } from '@btfwatch/compat';
import {
  dependentModulePackages,
  getKernel,
  kernelPackageLinks,
  kernelsByBaseBtf,
  packages,
  selectModuleBuilds,
  siblingBuilds,
  type Database,
  type KernelBuild,
  type ModuleWithPackage,
} from '@btfwatch/db';
import { inArray } from 'drizzle-orm';

/** How many earlier uploads of the same flavour and series have their modules checked on a new build. */
export const PREVIOUS_BUILDS = 2;

export interface RelevantModules {
  modules: ModuleWithPackage[];
  previous: KernelBuild[];
  /** Build bases for separate module packages, from the kernel package they declare a dependency on. */
  declaredBase: Map<string, { sha256: string; how: string }>;
}

/**
 * The module builds that matter to kernel build K (DESIGN §2): its own, every module built for the same
 * release string, separate module packages depending on K's packages, and the in-tree modules of the
 * previous uploads of the same flavour — the ones an ABI-compatible upload keeps loading.
 */
export async function relevantModules(db: Database, kernel: KernelBuild): Promise<RelevantModules> {
  const series = (v: string | null) => (v ?? '').split('.').slice(0, 2).join('.');
  const previous = (await siblingBuilds(db, kernel))
    .filter((k) => series(k.kernelVersion) === series(kernel.kernelVersion))
    .filter((k) => compareDebianVersions(k.version, kernel.version) < 0)
    .sort((a, b) => compareDebianVersions(b.version, a.version))
    .slice(0, PREVIOUS_BUILDS);

  const links = await kernelPackageLinks(db, kernel.id);
  const names = links.length
    ? (
        await db
          .select({ name: packages.name })
          .from(packages)
          .where(
            inArray(
              packages.sha256,
              links.map((l) => l.packageSha256),
            ),
          )
      ).map((p) => p.name)
    : [];
  const dependents = await dependentModulePackages(db, names);
  const modules = await selectModuleBuilds(db, {
    kernelBuildIds: [kernel.id, ...previous.map((k) => k.id)],
    releases: [kernel.release],
    packageSha256s: dependents,
  });
  const declaredBase = new Map<string, { sha256: string; how: string }>();
  if (kernel.baseBtfSha256)
    for (const sha of dependents)
      declaredBase.set(sha, { sha256: kernel.baseBtfSha256, how: 'declared-dependency' });
  return { modules, previous, declaredBase };
}

/** The kernel a compat query names: a numeric id or a base BTF sha256 (the newest build with it). */
export async function resolveKernel(db: Database, ref: string): Promise<KernelBuild | undefined> {
  if (/^[0-9]{1,10}$/.test(ref)) return getKernel(db, Number(ref));
  return (await kernelsByBaseBtf(db, ref.toLowerCase()))[0];
}
