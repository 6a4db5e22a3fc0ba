import { and, desc, eq, gte, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { AlertCandidate } from '@btfwatch/compat';
import type { Executor } from '../database.ts';
import { alerts, moduleBuilds, packages, verdicts, type Alert } from '../schema/index.ts';

/** Inserts alerts not raised before for (kernel, cause); returns only the new ones. */
export async function raiseAlerts(db: Executor, rows: Array<typeof alerts.$inferInsert>): Promise<Alert[]> {
  if (rows.length === 0) return [];
  return db.insert(alerts).values(rows).onConflictDoNothing().returning();
}

export interface AlertFilter {
  kernelBuildId?: number | undefined;
  severity?: 'warning' | 'critical' | undefined;
  since?: Date | undefined;
  limit: number;
  before?: number | undefined;
}

export async function listAlerts(db: Executor, f: AlertFilter): Promise<Alert[]> {
  const c: SQL[] = [];
  if (f.kernelBuildId !== undefined) c.push(eq(alerts.kernelBuildId, f.kernelBuildId));
  if (f.severity) c.push(eq(alerts.severity, f.severity));
  if (f.since) c.push(gte(alerts.createdAt, f.since));
  if (f.before !== undefined) c.push(lt(alerts.id, f.before));
  return db
    .select()
    .from(alerts)
    .where(c.length ? and(...c) : undefined)
    .orderBy(desc(alerts.id))
    .limit(f.limit);
}

export async function getAlert(db: Executor, id: number): Promise<Alert | undefined> {
  const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
  return row;
}

/**
 * Serialises, until the transaction ends, everyone deciding the alert of one (running build, upload) pair: the
 * second evaluation to get here sees the verdicts the first one committed.
 */
export async function lockAlertPair(tx: Executor, runningId: number, uploadId: number): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${runningId}::int, ${uploadId}::int)`);
}

/** Inserts the alert, or updates the one stored for its (kernel, cause); `created` says which. */
export async function upsertAlert(
  tx: Executor,
  row: typeof alerts.$inferInsert,
): Promise<{ alert: Alert; created: boolean }> {
  const [inserted] = await tx.insert(alerts).values(row).onConflictDoNothing().returning();
  if (inserted) return { alert: inserted, created: true };
  const [updated] = await tx
    .update(alerts)
    .set({
      severity: row.severity,
      summary: row.summary,
      affectedModules: row.affectedModules,
      details: row.details,
    })
    .where(and(eq(alerts.kernelBuildId, row.kernelBuildId), eq(alerts.cause, row.cause)))
    .returning();
  return { alert: updated!, created: false };
}

const BREAKS = sql`${verdicts.abi} = 'compatible' and ${verdicts.btf} in ('rejected', 'corrupt')`;

async function candidates(tx: Executor, kernelBuildId: number, where: SQL): Promise<AlertCandidate[]> {
  const rows = await tx
    .select({
      moduleBuildId: verdicts.moduleBuildId,
      moduleName: moduleBuilds.name,
      packageName: packages.name,
      packageVersion: packages.version,
      btf: verdicts.btf,
      abi: verdicts.abi,
      load: verdicts.load,
      kernelLog: sql<string[]>`coalesce(${verdicts.evidence} -> 'kernelLog', '[]'::jsonb)`,
    })
    .from(verdicts)
    .innerJoin(moduleBuilds, eq(moduleBuilds.id, verdicts.moduleBuildId))
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(and(eq(verdicts.kernelBuildId, kernelBuildId), BREAKS, where))
    .orderBy(verdicts.moduleBuildId);
  return rows.map((r) => ({ ...r, kernelBuildId }));
}

/**
 * What the alert of (running K, upload U) rests on: U's in-tree modules that break on K, and the separate module
 * packages built against K's base that break on U.
 */
export async function uploadBreakCandidates(
  tx: Executor,
  running: { id: number; baseBtfSha256: string | null },
  upload: { id: number },
): Promise<{ inTree: AlertCandidate[]; outOfTree: AlertCandidate[] }> {
  const inTree = await candidates(tx, running.id, eq(moduleBuilds.kernelBuildId, upload.id));
  return { inTree, outOfTree: await outOfTreeBreakCandidates(tx, running, upload) };
}

/** Verdicts on `upload` of the separate module builds built on `running`'s base (what stays behind, or is linked). */
export async function outOfTreeBreakCandidates(
  tx: Executor,
  running: { baseBtfSha256: string | null },
  upload: { id: number },
): Promise<AlertCandidate[]> {
  if (!running.baseBtfSha256) return [];
  return candidates(
    tx,
    upload.id,
    and(isNull(moduleBuilds.kernelBuildId), eq(moduleBuilds.buildBaseSha256, running.baseBtfSha256))!,
  );
}

/** The alerts on these kernel builds whose cause is one of `causes`. */
export async function alertsByCause(
  tx: Executor,
  kernelBuildIds: number[],
  causes: string[],
): Promise<Alert[]> {
  if (kernelBuildIds.length === 0 || causes.length === 0) return [];
  return tx
    .select()
    .from(alerts)
    .where(and(inArray(alerts.kernelBuildId, kernelBuildIds), inArray(alerts.cause, causes)));
}
