import { and, desc, eq, lt, ne, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { kernelBuilds, kernelPackages, type KernelBuild, type NewKernelBuild } from '../schema/index.ts';

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
  link: { kernelBuildId: number; packageSha256: string; role: string; hasVmlinuz: boolean; modules: number },
): Promise<void> {
  await db.insert(kernelPackages).values(link).onConflictDoNothing();
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
