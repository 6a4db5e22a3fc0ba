import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import {
  alerts,
  kernelBuilds,
  verdicts,
  type Alert,
  type BtfVerdict,
  type KernelBuild,
} from '../schema/index.ts';

/** The kernel build filters of the dashboard matrix. */
export interface MatrixFilter {
  distro?: string | undefined;
  suite?: string | undefined;
  flavour?: string | undefined;
  arch?: string | undefined;
}

/** Kernel builds with BTF, newest first, that have at least one module build with one of `verdict`. */
export async function kernelsWithVerdicts(
  db: Executor,
  q: MatrixFilter,
  wanted: BtfVerdict[],
  page: { limit: number; before?: number | undefined },
): Promise<KernelBuild[]> {
  const c: SQL[] = [sql`${kernelBuilds.baseBtfSha256} is not null`];
  if (q.distro) c.push(eq(kernelBuilds.distro, q.distro));
  if (q.arch) c.push(eq(kernelBuilds.arch, q.arch));
  if (q.flavour) c.push(eq(kernelBuilds.flavour, q.flavour));
  if (q.suite) c.push(sql`${kernelBuilds.suites} @> ${JSON.stringify([q.suite])}::jsonb`);
  if (page.before !== undefined) c.push(lt(kernelBuilds.id, page.before));
  c.push(
    sql`exists (select 1 from ${verdicts} where ${verdicts.kernelBuildId} = ${kernelBuilds.id} and ${inArray(verdicts.btf, wanted)})`,
  );
  return db
    .select()
    .from(kernelBuilds)
    .where(and(...c))
    .orderBy(desc(kernelBuilds.id))
    .limit(page.limit);
}

/** Per kernel build of the page: how many alerts it has and the one to show (most severe, then newest). */
export async function alertMarks(db: Executor, kernelIds: number[]) {
  if (kernelIds.length === 0) return [];
  const rows = await db
    .select()
    .from(alerts)
    .where(inArray(alerts.kernelBuildId, kernelIds))
    .orderBy(desc(alerts.id));
  const byKernel = new Map<number, Alert[]>();
  for (const a of rows) byKernel.set(a.kernelBuildId, [...(byKernel.get(a.kernelBuildId) ?? []), a]);
  return [...byKernel].map(([kernelId, list]) => {
    const top = list.find((a) => a.severity === 'critical') ?? list[0]!;
    return {
      kernelId,
      count: list.length,
      severity: top.severity,
      alertId: top.id,
      summary: top.summary,
    };
  });
}
