import type { FastifyRequest } from 'fastify';
import {
  alerts,
  kernelBuilds,
  listKernels,
  verdictMatrix,
  verdicts,
  type Alert,
  type BtfVerdict,
  type Executor,
  type KernelBuild,
} from '@btfwatch/db';
import { and, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import type { Handlers } from './types.ts';

/** Worst first: a cell shows the most dangerous verdict any of its modules has. */
const SEVERITY = ['corrupt', 'rejected', 'unverified', 'absent', 'relocated', 'equivalent', 'identical'];

interface MatrixQuery {
  distro?: string;
  suite?: string;
  flavour?: string;
  arch?: string;
  verdict?: BtfVerdict[];
  limit: number;
  cursor?: string;
}

/** Kernel builds with BTF, newest first, that have at least one module build with one of `verdict`. */
async function kernelsWithVerdicts(
  db: Executor,
  q: MatrixQuery,
  wanted: BtfVerdict[],
): Promise<KernelBuild[]> {
  const c: SQL[] = [sql`${kernelBuilds.baseBtfSha256} is not null`];
  if (q.distro) c.push(eq(kernelBuilds.distro, q.distro));
  if (q.arch) c.push(eq(kernelBuilds.arch, q.arch));
  if (q.flavour) c.push(eq(kernelBuilds.flavour, q.flavour));
  if (q.suite) c.push(sql`${kernelBuilds.suites} @> ${JSON.stringify([q.suite])}::jsonb`);
  const before = cursorValue(q.cursor);
  if (before !== undefined) c.push(lt(kernelBuilds.id, before));
  c.push(
    sql`exists (select 1 from ${verdicts} where ${verdicts.kernelBuildId} = ${kernelBuilds.id} and ${inArray(verdicts.btf, wanted)})`,
  );
  return db
    .select()
    .from(kernelBuilds)
    .where(and(...c))
    .orderBy(desc(kernelBuilds.id))
    .limit(q.limit);
}

/** Per kernel build of the page: how many alerts it has and the one to show (most severe, then newest). */
async function alertMarks(db: Executor, kernelIds: number[]) {
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

export const matrixHandlers: Handlers = {
  async getMatrix(request: FastifyRequest) {
    const q = request.query as MatrixQuery;
    const { db } = request.server.deps.database;
    const wanted = q.verdict?.length ? [...new Set(q.verdict)] : undefined;
    const kernels = wanted
      ? await kernelsWithVerdicts(db, q, wanted)
      : await listKernels(db, { ...q, withBtf: true }, { limit: q.limit, before: cursorValue(q.cursor) });
    const cells = await verdictMatrix(
      db,
      kernels.map((k) => k.id),
    );
    const columns = new Map<
      string,
      { key: string; package: string; version: string; kernelId: number | null }
    >();
    const grouped = new Map<string, { kernelId: number; column: string; counts: Record<string, number> }>();
    for (const c of cells) {
      const key = `${c.packageName}@${c.packageVersion}`;
      columns.set(key, {
        key,
        package: c.packageName,
        version: c.packageVersion,
        kernelId: c.moduleKernelBuildId,
      });
      const cellKey = `${c.kernelBuildId}|${key}`;
      const cell = grouped.get(cellKey) ?? { kernelId: c.kernelBuildId, column: key, counts: {} };
      cell.counts[c.btf] = (cell.counts[c.btf] ?? 0) + c.count;
      grouped.set(cellKey, cell);
    }
    // With a verdict filter, a column stays when some cell of it (on this page) has one of those verdicts.
    const kept = wanted
      ? new Set(
          [...grouped.values()]
            .filter((cell) => wanted.some((v) => cell.counts[v]))
            .map((cell) => cell.column),
        )
      : undefined;
    return {
      kernels: kernels.map(kernelView),
      columns: [...columns.values()]
        .filter((c) => !kept || kept.has(c.key))
        .sort((a, b) => (b.kernelId ?? 0) - (a.kernelId ?? 0) || a.key.localeCompare(b.key)),
      cells: [...grouped.values()]
        .filter((cell) => !kept || kept.has(cell.column))
        .map((cell) => ({
          ...cell,
          worst: SEVERITY.find((v) => cell.counts[v]) ?? 'absent',
        })),
      alerts: await alertMarks(
        db,
        kernels.map((k) => k.id),
      ),
      nextCursor: nextCursor(kernels, q.limit, (k) => k.id),
    };
  },
};
