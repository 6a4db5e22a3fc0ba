import { and, arrayOverlaps, desc, eq, inArray, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { dependencyNames, pinnedVersions } from '@btfwatch/compat';
import {
  kernelBuilds,
  kernelPackages,
  packages,
  type KernelBuild,
  type NewKernelBuild,
} from '../schema/index.ts';

export interface KernelIdentity {
  distro: string;
  release: string;
  version: string;
  arch: string;
}

type KernelFields = Omit<
  Partial<NewKernelBuild>,
  'id' | 'distro' | 'release' | 'version' | 'arch' | 'createdAt'
>;

/**
 * Creates the kernel build or fills in the fields given; fields a package does not know stay as they are
 * (packages of one build arrive in any order). Suites accumulate.
 */
export async function upsertKernelBuild(
  db: Executor,
  identity: KernelIdentity,
  fields: KernelFields,
): Promise<KernelBuild> {
  const set: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || key === 'suites') continue;
    set[key] = value;
  }
  set.suites = sql`(select coalesce(jsonb_agg(distinct s order by s), '[]'::jsonb)
    from jsonb_array_elements_text(${kernelBuilds.suites} || excluded.suites) s)`;
  const [row] = await db
    .insert(kernelBuilds)
    .values({ ...identity, ...fields, suites: fields.suites ?? [] })
    .onConflictDoUpdate({
      target: [kernelBuilds.distro, kernelBuilds.release, kernelBuilds.version, kernelBuilds.arch],
      set,
    })
    .returning();
  return row!;
}

export async function linkKernelPackage(
  db: Executor,
  link: typeof kernelPackages.$inferInsert,
): Promise<void> {
  await db.insert(kernelPackages).values(link).onConflictDoNothing();
}

/** The exports blobs (Module.symvers form) the packages of a kernel build carry, by package. */
export async function kernelExportBlobs(db: Executor, kernelBuildId: number): Promise<string[]> {
  const rows = await db
    .select({ sha256: kernelPackages.exportsSha256 })
    .from(kernelPackages)
    .where(
      and(eq(kernelPackages.kernelBuildId, kernelBuildId), sql`${kernelPackages.exportsSha256} is not null`),
    )
    .orderBy(kernelPackages.packageSha256);
  return rows.map((r) => r.sha256!);
}

/** Records how the CRCs read from the build's image compare with its Module.symvers. */
export async function setCrcCheck(
  db: Executor,
  kernelBuildId: number,
  check: KernelBuild['crcCheck'],
): Promise<void> {
  await db.update(kernelBuilds).set({ crcCheck: check }).where(eq(kernelBuilds.id, kernelBuildId));
}

export async function kernelPackageLinks(db: Executor, kernelBuildId: number) {
  return db.select().from(kernelPackages).where(eq(kernelPackages.kernelBuildId, kernelBuildId));
}

export async function getKernel(db: Executor, id: number): Promise<KernelBuild | undefined> {
  const [row] = await db.select().from(kernelBuilds).where(eq(kernelBuilds.id, id));
  return row;
}

export async function kernelsByBaseBtf(db: Executor, sha256: string): Promise<KernelBuild[]> {
  return db
    .select()
    .from(kernelBuilds)
    .where(eq(kernelBuilds.baseBtfSha256, sha256))
    .orderBy(desc(kernelBuilds.id));
}

export interface KernelFilter {
  distro?: string | undefined;
  suite?: string | undefined;
  arch?: string | undefined;
  flavour?: string | undefined;
  release?: string | undefined;
  version?: string | undefined;
  /** Only builds whose vmlinuz (base BTF) is known. */
  withBtf?: boolean | undefined;
}

function filterConditions(f: KernelFilter): SQL[] {
  const c: SQL[] = [];
  if (f.distro) c.push(eq(kernelBuilds.distro, f.distro));
  if (f.arch) c.push(eq(kernelBuilds.arch, f.arch));
  if (f.flavour) c.push(eq(kernelBuilds.flavour, f.flavour));
  if (f.release) c.push(eq(kernelBuilds.release, f.release));
  if (f.version) c.push(eq(kernelBuilds.version, f.version));
  if (f.suite) c.push(sql`${kernelBuilds.suites} @> ${JSON.stringify([f.suite])}::jsonb`);
  if (f.withBtf) c.push(sql`${kernelBuilds.baseBtfSha256} is not null`);
  return c;
}

/** Newest first (by id), keyset-paginated: pass the last id seen as `before`. */
export async function listKernels(
  db: Executor,
  f: KernelFilter,
  page: { limit: number; before?: number | undefined },
) {
  const c = filterConditions(f);
  if (page.before !== undefined) c.push(lt(kernelBuilds.id, page.before));
  return db
    .select()
    .from(kernelBuilds)
    .where(c.length ? and(...c) : undefined)
    .orderBy(desc(kernelBuilds.id))
    .limit(page.limit);
}

/** Other builds of the same distro, arch and flavour that have a base BTF: candidates for "earlier uploads". */
export async function siblingBuilds(db: Executor, kernel: KernelBuild): Promise<KernelBuild[]> {
  const c: SQL[] = [
    eq(kernelBuilds.distro, kernel.distro),
    eq(kernelBuilds.arch, kernel.arch),
    ne(kernelBuilds.id, kernel.id),
    sql`${kernelBuilds.baseBtfSha256} is not null`,
  ];
  c.push(kernel.flavour ? eq(kernelBuilds.flavour, kernel.flavour) : sql`${kernelBuilds.flavour} is null`);
  return db
    .select()
    .from(kernelBuilds)
    .where(and(...c));
}

/** Names and provided names of a kernel build's packages: what separate module packages depend on. */
export async function kernelPackageNames(db: Executor, kernelBuildId: number): Promise<string[]> {
  const rows = await db
    .select({ name: packages.name, provided: packages.providedNames })
    .from(kernelPackages)
    .innerJoin(packages, eq(packages.sha256, kernelPackages.packageSha256))
    .where(eq(kernelPackages.kernelBuildId, kernelBuildId));
  return [...new Set(rows.flatMap((r) => [r.name, ...r.provided]))].sort();
}

/**
 * A package named in `names` itself or by one of its provides (apt `name (= v)`, rpm `name = v`, or
 * unversioned).
 */
function namedOrProviding(names: string[]): SQL {
  return or(inArray(packages.name, names), arrayOverlaps(packages.providedNames, names))!;
}

/**
 * Kernel builds a set of module builds matters to: the same release string or vermagic, or a package of
 * the build named by one of the modules' package dependencies.
 */
export async function kernelsForModules(
  db: Executor,
  m: { releases: string[]; vermagics: string[]; dependsOn: string[] },
): Promise<KernelBuild[]> {
  const any: SQL[] = [];
  if (m.releases.length) any.push(inArray(kernelBuilds.release, m.releases));
  if (m.vermagics.length) any.push(inArray(kernelBuilds.vermagic, m.vermagics));
  if (m.dependsOn.length)
    any.push(
      inArray(
        kernelBuilds.id,
        db
          .select({ id: kernelPackages.kernelBuildId })
          .from(kernelPackages)
          .innerJoin(packages, eq(packages.sha256, kernelPackages.packageSha256))
          .where(namedOrProviding(m.dependsOn)),
      ),
    );
  if (any.length === 0) return [];
  return db
    .select()
    .from(kernelBuilds)
    .where(or(...any))
    .orderBy(kernelBuilds.id);
}

/**
 * Kernel builds with a base BTF that have a package named in `names`, by its own name or one it
 * provides: one row per name matched, with the version under that name (a versioned provide's own
 * version; an unversioned one's is the package's).
 */
export async function kernelsByPackageName(
  db: Executor,
  names: string[],
): Promise<Array<{ kernel: KernelBuild; packageName: string; packageVersion: string }>> {
  if (names.length === 0) return [];
  const rows = await db
    .select({
      kernel: kernelBuilds,
      name: packages.name,
      version: packages.version,
      provides: packages.provides,
    })
    .from(kernelPackages)
    .innerJoin(packages, eq(packages.sha256, kernelPackages.packageSha256))
    .innerJoin(kernelBuilds, eq(kernelBuilds.id, kernelPackages.kernelBuildId))
    .where(
      and(
        // The packages first (by name or provided name), then their kernel_packages rows by index.
        sql`${kernelPackages.packageSha256} = any(array(select ${packages.sha256} from ${packages} where ${namedOrProviding(names)}))`,
        sql`${kernelBuilds.baseBtfSha256} is not null`,
      ),
    )
    .orderBy(kernelBuilds.id);
  const wanted = new Set(names);
  return rows.flatMap((r) => {
    const out: Array<{ kernel: KernelBuild; packageName: string; packageVersion: string }> = [];
    if (wanted.has(r.name)) out.push({ kernel: r.kernel, packageName: r.name, packageVersion: r.version });
    for (const entry of r.provides) {
      const [name] = dependencyNames([entry]);
      if (name === undefined || !wanted.has(name) || name === r.name) continue;
      const version = pinnedVersions([entry]).get(name) ?? r.version;
      out.push({ kernel: r.kernel, packageName: name, packageVersion: version });
    }
    return out;
  });
}

/** Records when the kernel build's verdicts were last computed. */
export async function markEvaluated(db: Executor, kernelBuildId: number, at: Date): Promise<void> {
  await db.update(kernelBuilds).set({ evaluatedAt: at }).where(eq(kernelBuilds.id, kernelBuildId));
}

/** Other builds of the same distro, arch and release string with a base BTF: in-place uploads of one another. */
export async function sameReleaseBuilds(db: Executor, kernel: KernelBuild): Promise<KernelBuild[]> {
  return db
    .select()
    .from(kernelBuilds)
    .where(
      and(
        eq(kernelBuilds.distro, kernel.distro),
        eq(kernelBuilds.arch, kernel.arch),
        eq(kernelBuilds.release, kernel.release),
        ne(kernelBuilds.id, kernel.id),
        sql`${kernelBuilds.baseBtfSha256} is not null`,
      ),
    )
    .orderBy(kernelBuilds.id);
}

/** Kernel builds with what coverage reads: whether one of their packages carried the vmlinux's exported CRCs. */
export async function kernelsWithExports(
  db: Executor,
  f: KernelFilter = {},
): Promise<Array<KernelBuild & { imageExports: boolean }>> {
  const c = filterConditions(f);
  const rows = await db
    .select({
      kernel: kernelBuilds,
      imageExports: sql<boolean>`exists (select 1 from ${kernelPackages} where ${kernelPackages.kernelBuildId} = ${kernelBuilds.id} and ${kernelPackages.vmlinuxExports})`,
    })
    .from(kernelBuilds)
    .where(c.length ? and(...c) : undefined)
    .orderBy(desc(kernelBuilds.id));
  return rows.map((r) => ({ ...r.kernel, imageExports: Boolean(r.imageExports) }));
}

/** Whether one of the kernel build's packages carried the vmlinux's own exported CRCs. */
export async function hasVmlinuxExports(db: Executor, kernelBuildId: number): Promise<boolean> {
  const rows = await db
    .select({ one: sql<number>`1` })
    .from(kernelPackages)
    .where(and(eq(kernelPackages.kernelBuildId, kernelBuildId), eq(kernelPackages.vmlinuxExports, true)))
    .limit(1);
  return rows.length > 0;
}
