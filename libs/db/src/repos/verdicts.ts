import { and, asc, eq, gt, inArray, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import {
  basePairs,
  kernelBuilds,
  moduleBuilds,
  packages,
  verdicts,
  type NewVerdict,
  type Verdict,
} from '../schema/index.ts';

const VERDICTS_PER_STATEMENT = 2000;

/**
 * Stores verdicts (replacing those of the same pairs) and, in the same transaction, bumps the verdicts
 * version of every kernel build they are for. Returns each such kernel build's new version.
 */
export async function upsertVerdicts(db: Executor, rows: NewVerdict[]): Promise<Map<number, number>> {
  if (rows.length === 0) return new Map();
  const kernelIds = [...new Set(rows.map((r) => r.kernelBuildId))].sort((a, b) => a - b);
  return db.transaction(async (tx) => {
    // Each chunk travels as one JSON parameter unpacked by Postgres (jsonb_to_recordset): one value to
    // bind instead of seven per row, and one JSON.stringify for the chunk instead of one per evidence.
    for (let i = 0; i < rows.length; i += VERDICTS_PER_STATEMENT) {
      const chunk = rows.slice(i, i + VERDICTS_PER_STATEMENT).map((r) => ({
        m: r.moduleBuildId,
        k: r.kernelBuildId,
        b: r.btf,
        l: r.load,
        r: r.loadReason ?? null,
        a: r.abi,
        e: r.evidence,
      }));
      await tx.execute(sql`
        insert into ${verdicts} (module_build_id, kernel_build_id, btf, load, load_reason, abi, evidence)
        select m, k, b, l, r, a, e
        from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb)
          as x(m bigint, k integer, b text, l text, r text, a text, e jsonb)
        on conflict (module_build_id, kernel_build_id) do update set
          btf = excluded.btf, load = excluded.load, load_reason = excluded.load_reason,
          abi = excluded.abi, evidence = excluded.evidence, ${sql.identifier(verdicts.computedAt.name)} = now()`);
    }
    const bumped = await tx
      .update(kernelBuilds)
      .set({ verdictsVersion: sql`${kernelBuilds.verdictsVersion} + 1` })
      .where(inArray(kernelBuilds.id, kernelIds))
      .returning({ id: kernelBuilds.id, version: kernelBuilds.verdictsVersion });
    return new Map(bumped.map((b) => [b.id, Number(b.version)]));
  });
}

export interface VerdictQuery {
  kernelBuildId: number;
  moduleBuildIds?: number[] | undefined;
  packageName?: string | undefined;
  packageVersion?: string | undefined;
  moduleName?: string | undefined;
  btf?: string[] | undefined;
  limit: number;
  after?: number | undefined;
}

export type VerdictRow = Verdict & {
  moduleName: string;
  modulePath: string;
  packageName: string;
  packageVersion: string;
  moduleKernelBuildId: number | null;
};

export async function queryVerdicts(db: Executor, q: VerdictQuery): Promise<VerdictRow[]> {
  const c: SQL[] = [eq(verdicts.kernelBuildId, q.kernelBuildId)];
  if (q.moduleBuildIds)
    c.push(inArray(verdicts.moduleBuildId, q.moduleBuildIds.length ? q.moduleBuildIds : [-1]));
  if (q.packageName) c.push(eq(packages.name, q.packageName));
  if (q.packageVersion) c.push(eq(packages.version, q.packageVersion));
  if (q.moduleName) c.push(eq(moduleBuilds.name, q.moduleName));
  if (q.btf?.length) c.push(inArray(verdicts.btf, q.btf as Verdict['btf'][]));
  if (q.after !== undefined) c.push(gt(verdicts.moduleBuildId, q.after));
  const rows = await db
    .select({
      v: verdicts,
      moduleName: moduleBuilds.name,
      modulePath: moduleBuilds.path,
      packageName: packages.name,
      packageVersion: packages.version,
      moduleKernelBuildId: moduleBuilds.kernelBuildId,
    })
    .from(verdicts)
    .innerJoin(moduleBuilds, eq(moduleBuilds.id, verdicts.moduleBuildId))
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(and(...c))
    .orderBy(asc(verdicts.moduleBuildId))
    .limit(q.limit);
  return rows.map((r) => ({
    ...r.v,
    moduleName: r.moduleName,
    modulePath: r.modulePath,
    packageName: r.packageName,
    packageVersion: r.packageVersion,
    moduleKernelBuildId: r.moduleKernelBuildId,
  }));
}

export interface VerdictCell {
  kernelBuildId: number;
  packageName: string;
  packageVersion: string;
  moduleKernelBuildId: number | null;
  btf: string;
  count: number;
}

/** Verdict counts per (kernel, module package, btf verdict): the dashboard matrix. */
export async function verdictMatrix(db: Executor, kernelBuildIds: number[]): Promise<VerdictCell[]> {
  if (kernelBuildIds.length === 0) return [];
  const rows = await db
    .select({
      kernelBuildId: verdicts.kernelBuildId,
      packageName: packages.name,
      packageVersion: packages.version,
      moduleKernelBuildId: moduleBuilds.kernelBuildId,
      btf: verdicts.btf,
      count: sql<number>`count(*)::int`,
    })
    .from(verdicts)
    .innerJoin(moduleBuilds, eq(moduleBuilds.id, verdicts.moduleBuildId))
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(inArray(verdicts.kernelBuildId, kernelBuildIds))
    .groupBy(
      verdicts.kernelBuildId,
      packages.name,
      packages.version,
      moduleBuilds.kernelBuildId,
      verdicts.btf,
    );
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}

export async function verdictSummary(db: Executor, kernelBuildId: number, sourceKernelBuildId?: number) {
  const c: SQL[] = [eq(verdicts.kernelBuildId, kernelBuildId)];
  if (sourceKernelBuildId !== undefined) c.push(eq(moduleBuilds.kernelBuildId, sourceKernelBuildId));
  const rows = await db
    .select({ btf: verdicts.btf, load: verdicts.load, abi: verdicts.abi, count: sql<number>`count(*)::int` })
    .from(verdicts)
    .innerJoin(moduleBuilds, eq(moduleBuilds.id, verdicts.moduleBuildId))
    .where(and(...c))
    .groupBy(verdicts.btf, verdicts.load, verdicts.abi);
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}

export async function getBasePair(db: Executor, from: string, to: string) {
  const [row] = await db
    .select()
    .from(basePairs)
    .where(and(eq(basePairs.fromSha256, from), eq(basePairs.toSha256, to)));
  return row;
}

/** Stores a pair's diff; a row already there (from another process, or unreadable) is replaced. */
export async function putBasePair(db: Executor, row: typeof basePairs.$inferInsert): Promise<void> {
  await db
    .insert(basePairs)
    .values(row)
    .onConflictDoUpdate({
      target: [basePairs.fromSha256, basePairs.toSha256],
      set: { changedTypes: row.changedTypes, changedStrings: row.changedStrings, diff: row.diff },
    });
}

/** Which of `moduleBuildIds` have a verdict on the kernel build (ids only: no evidence is read). */
export async function modulesWithVerdicts(
  db: Executor,
  kernelBuildId: number,
  moduleBuildIds: number[],
): Promise<Set<number>> {
  const have = new Set<number>();
  for (let i = 0; i < moduleBuildIds.length; i += 1000) {
    const rows = await db
      .select({ id: verdicts.moduleBuildId })
      .from(verdicts)
      .where(
        and(
          eq(verdicts.kernelBuildId, kernelBuildId),
          inArray(verdicts.moduleBuildId, moduleBuildIds.slice(i, i + 1000)),
        ),
      );
    for (const r of rows) have.add(r.id);
  }
  return have;
}
