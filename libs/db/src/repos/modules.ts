import { and, arrayOverlaps, asc, eq, gt, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import {
  catalogVersions,
  kernelPackages,
  moduleBuilds,
  type CatalogCounter,
  packages,
  type BuildBaseHow,
  type ModuleBuild,
  type NewModuleBuild,
} from '../schema/index.ts';

/**
 * Inserts module builds (a row already there stays) and, when any is new, bumps the `module_builds`
 * catalog version in the same transaction: answers cached for a selection by name or package compare it.
 */
export async function insertModuleBuilds(db: Executor, rows: NewModuleBuild[]): Promise<number> {
  if (rows.length === 0) return 0;
  return db.transaction(async (tx) => {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += 500) {
      const r = await tx
        .insert(moduleBuilds)
        .values(rows.slice(i, i + 500))
        .onConflictDoNothing()
        .returning({ id: moduleBuilds.id });
      inserted += r.length;
    }
    if (inserted > 0) await bumpCatalogVersion(tx, 'module_builds');
    return inserted;
  });
}

/** Adds one to a catalog counter; its row lock is held until the caller's transaction ends. */
async function bumpCatalogVersion(db: Executor, name: CatalogCounter): Promise<void> {
  await db
    .insert(catalogVersions)
    .values({ name, version: 1 })
    .onConflictDoUpdate({
      target: catalogVersions.name,
      set: { version: sql`${catalogVersions.version} + 1` },
    });
}

export async function getModuleBuild(db: Executor, id: number): Promise<ModuleBuild | undefined> {
  const [row] = await db.select().from(moduleBuilds).where(eq(moduleBuilds.id, id));
  return row;
}

/** In-tree modules of a kernel build learn their build base once the build's vmlinuz is known. */
export async function setBuildBaseForKernel(
  db: Executor,
  kernelBuildId: number,
  baseSha256: string,
): Promise<number> {
  const rows = await db
    .update(moduleBuilds)
    .set({ buildBaseSha256: baseSha256, buildBaseHow: 'same-build' })
    .where(and(eq(moduleBuilds.kernelBuildId, kernelBuildId), isNull(moduleBuilds.buildBaseSha256)))
    .returning({ id: moduleBuilds.id });
  return rows.length;
}

/** Gives module builds whose build base is unknown the one found; a base already known stays. */
export async function setBuildBase(
  db: Executor,
  ids: number[],
  baseSha256: string,
  how: BuildBaseHow,
): Promise<void> {
  for (let i = 0; i < ids.length; i += 1000) {
    await db
      .update(moduleBuilds)
      .set({ buildBaseSha256: baseSha256, buildBaseHow: how })
      .where(and(inArray(moduleBuilds.id, ids.slice(i, i + 1000)), isNull(moduleBuilds.buildBaseSha256)));
  }
}

export interface ModuleSelection {
  kernelBuildIds?: number[];
  releases?: string[];
  vermagics?: string[];
  packageSha256s?: string[];
  ids?: number[];
  /** Only module builds whose package is for this architecture (or `all`): a kernel loads no other arch's. */
  arch?: string;
}

/**
 * The module builds a selection names (any criterion matches, within `arch` when given); undefined when it
 * names none.
 */
export function moduleSelectionFilter(sel: ModuleSelection): SQL | undefined {
  const any = namedBy(sel);
  if (!any) return undefined;
  if (!sel.arch) return any;
  return sql`(${any}) and exists (select 1 from ${packages} where ${packages.sha256} = ${moduleBuilds.packageSha256} and ${packages.arch} in (${sel.arch}, 'all'))`;
}

function namedBy(sel: ModuleSelection): SQL | undefined {
  const any: SQL[] = [];
  if (sel.kernelBuildIds?.length) any.push(inArray(moduleBuilds.kernelBuildId, sel.kernelBuildIds));
  if (sel.releases?.length) any.push(inArray(moduleBuilds.release, sel.releases));
  if (sel.vermagics?.length) any.push(inArray(moduleBuilds.vermagic, sel.vermagics));
  if (sel.packageSha256s?.length) any.push(inArray(moduleBuilds.packageSha256, sel.packageSha256s));
  if (sel.ids?.length) any.push(inArray(moduleBuilds.id, sel.ids));
  return any.length ? sql.join(any, sql` or `) : undefined;
}

/**
 * What a selection's verdicts depend on besides the kernel: which packages' module builds it holds and
 * the build base each package's modules have (a package's module rows never change; their base can).
 */
export async function moduleInputs(
  db: Executor,
  sel: ModuleSelection,
): Promise<Array<{ packageSha256: string; buildBaseSha256: string | null }>> {
  const where = moduleSelectionFilter(sel);
  if (!where) return [];
  return db
    .selectDistinct({
      packageSha256: moduleBuilds.packageSha256,
      buildBaseSha256: moduleBuilds.buildBaseSha256,
    })
    .from(moduleBuilds)
    .where(where)
    .orderBy(asc(moduleBuilds.packageSha256), asc(moduleBuilds.buildBaseSha256));
}

export type ModuleWithPackage = ModuleBuild & {
  packageName: string;
  packageVersion: string;
  depends: string[];
};

/** Module builds matching any of the given criteria, with their package's name and version. */
export async function selectModuleBuilds(db: Executor, sel: ModuleSelection): Promise<ModuleWithPackage[]> {
  const where = moduleSelectionFilter(sel);
  if (!where) return [];
  const rows = await db
    .select({
      m: moduleBuilds,
      packageName: packages.name,
      packageVersion: packages.version,
      depends: packages.depends,
    })
    .from(moduleBuilds)
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(where)
    .orderBy(asc(moduleBuilds.id));
  return rows.map((r) => ({
    ...r.m,
    packageName: r.packageName,
    packageVersion: r.packageVersion,
    depends: r.depends,
  }));
}

export interface ModuleQuery {
  packageName?: string | undefined;
  packageVersion?: string | undefined;
  moduleName?: string | undefined;
  limit: number;
  after?: number | undefined;
}

export async function findModuleBuilds(db: Executor, q: ModuleQuery): Promise<ModuleWithPackage[]> {
  const c: SQL[] = [];
  if (q.packageName) c.push(eq(packages.name, q.packageName));
  if (q.packageVersion) c.push(eq(packages.version, q.packageVersion));
  if (q.moduleName) c.push(eq(moduleBuilds.name, q.moduleName));
  if (q.after !== undefined) c.push(gt(moduleBuilds.id, q.after));
  const rows = await db
    .select({
      m: moduleBuilds,
      packageName: packages.name,
      packageVersion: packages.version,
      depends: packages.depends,
    })
    .from(moduleBuilds)
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(c.length ? and(...c) : undefined)
    .orderBy(asc(moduleBuilds.id))
    .limit(q.limit);
  return rows.map((r) => ({
    ...r.m,
    packageName: r.packageName,
    packageVersion: r.packageVersion,
    depends: r.depends,
  }));
}

/** Separate module packages (not part of a kernel build) that declare a dependency on one of `packageNames`. */
export async function dependentModulePackages(db: Executor, packageNames: string[]): Promise<string[]> {
  if (packageNames.length === 0) return [];
  const rows = await db
    .select({ sha: packages.sha256 })
    .from(packages)
    .where(
      and(
        arrayOverlaps(packages.dependsOn, packageNames),
        sql`exists (select 1 from ${moduleBuilds} m where m.package_sha256 = ${packages.sha256}
             and m.kernel_build_id is null)`,
      ),
    )
    .orderBy(asc(packages.sha256));
  return rows.map((r) => r.sha);
}

/**
 * Build bases known for module builds whose .BTF has this sha256: each distinct base once, with the
 * lowest module build id that has it.
 */
export async function buildBasesOfModuleBtf(
  db: Executor,
  btfSha256: string,
): Promise<Array<{ buildBaseSha256: string; moduleBuildId: number }>> {
  const rows = await db
    .select({
      buildBaseSha256: moduleBuilds.buildBaseSha256,
      moduleBuildId: sql<number>`min(${moduleBuilds.id})`.mapWith(Number),
    })
    .from(moduleBuilds)
    .where(and(eq(moduleBuilds.btfSha256, btfSha256), isNotNull(moduleBuilds.buildBaseSha256)))
    .groupBy(moduleBuilds.buildBaseSha256)
    .orderBy(asc(moduleBuilds.buildBaseSha256));
  return rows.map((r) => ({ buildBaseSha256: r.buildBaseSha256!, moduleBuildId: r.moduleBuildId }));
}

/** What an ingested package holds, for finding the kernel builds it matters to again. */
export async function packageFootprint(
  db: Executor,
  sha256: string,
): Promise<{ kernelBuildIds: number[]; releases: string[]; vermagics: string[]; outOfTree: boolean }> {
  const modules = await db
    .selectDistinct({
      release: moduleBuilds.release,
      vermagic: moduleBuilds.vermagic,
      kernelBuildId: moduleBuilds.kernelBuildId,
    })
    .from(moduleBuilds)
    .where(eq(moduleBuilds.packageSha256, sha256));
  const links = await db
    .select({ id: kernelPackages.kernelBuildId })
    .from(kernelPackages)
    .where(eq(kernelPackages.packageSha256, sha256));
  const distinct = <T>(values: Array<T | null>) =>
    [...new Set(values.filter((v): v is T => v !== null))].sort();
  return {
    kernelBuildIds: distinct([...links.map((l) => l.id), ...modules.map((m) => m.kernelBuildId)]),
    releases: distinct(modules.map((m) => m.release)),
    vermagics: distinct(modules.map((m) => m.vermagic)),
    outOfTree: modules.some((m) => m.kernelBuildId === null),
  };
}
