import { alertMarks, kernelsWithVerdicts, listKernels, verdictMatrix } from '@btfwatch/db';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import type { Handlers } from './types.ts';

/** Worst first: a cell shows the most dangerous verdict any of its modules has. */
const SEVERITY = ['corrupt', 'rejected', 'unverified', 'absent', 'relocated', 'equivalent', 'identical'];

export const matrixHandlers = {
  async getMatrix(request) {
    const q = request.query;
    const { db } = request.server.deps.database;
    const wanted = q.verdict?.length ? [...new Set(q.verdict)] : undefined;
    const kernels = wanted
      ? await kernelsWithVerdicts(db, q, wanted, { limit: q.limit, before: cursorValue(q.cursor) })
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
} satisfies Handlers;
