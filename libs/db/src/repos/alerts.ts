import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { alerts, type Alert } from '../schema/index.ts';

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
