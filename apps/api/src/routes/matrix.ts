import type { FastifyRequest } from 'fastify';
import { listKernels, verdictMatrix } from '@btfwatch/db';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import type { Handlers } from './types.ts';

/** Worst first: a cell shows the most dangerous verdict any of its modules has. */
const SEVERITY = ['corrupt', 'rejected', 'unverified', 'absent', 'relocated', 'equivalent', 'identical'];

export const matrixHandlers: Handlers = {
  async getMatrix(request: FastifyRequest) {
    const q = request.query as {
      distro?: string;
      suite?: string;
      flavour?: string;
      arch?: string;
      limit: number;
      cursor?: string;
    };
    const { db } = request.server.deps.database;
    const kernels = await listKernels(
      db,
      { ...q, withBtf: true },
      { limit: q.limit, before: cursorValue(q.cursor) },
    );
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
    return {
      kernels: kernels.map(kernelView),
      columns: [...columns.values()].sort(
        (a, b) => (b.kernelId ?? 0) - (a.kernelId ?? 0) || a.key.localeCompare(b.key),
      ),
      cells: [...grouped.values()].map((cell) => ({
        ...cell,
        worst: SEVERITY.find((v) => cell.counts[v]) ?? 'absent',
      })),
      nextCursor: nextCursor(kernels, q.limit, (k) => k.id),
    };
  },
};
