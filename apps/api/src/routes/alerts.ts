import { getAlert, getKernel, listAlerts } from '@btfwatch/db';
import { notFound } from '../errors.ts';
import { alertUploadId, alertView, cursorValue, nextCursor } from '../views.ts';
import { coverage } from './coverage.ts';
import type { Handlers } from './types.ts';

export const alertHandlers = {
  async listAlerts(request) {
    const q = request.query;
    const { db } = request.server.deps.database;
    const rows = await listAlerts(db, {
      kernelBuildId: q.kernel,
      severity: q.severity,
      since: q.since ? new Date(q.since) : undefined,
      limit: q.limit,
      before: cursorValue(q.cursor),
    });
    const kernels = new Map<number, Awaited<ReturnType<typeof getKernel>>>();
    const named = rows.flatMap((r) => [r.kernelBuildId, alertUploadId(r)]);
    for (const id of new Set(named)) if (id !== undefined) kernels.set(id, await getKernel(db, id));
    // No alert is an all-clear only where every build has what the rule needs: say where it does not.
    const { kernels: total, complete, summary } = await coverage(db);
    return {
      items: rows.map((a) => {
        const upload = alertUploadId(a);
        return alertView(a, kernels.get(a.kernelBuildId), upload ? kernels.get(upload) : undefined);
      }),
      nextCursor: nextCursor(rows, q.limit, (a) => a.id),
      coverage: { kernels: total, complete, summary },
    };
  },

  async getAlert(request) {
    const { id } = request.params;
    const { db } = request.server.deps.database;
    const alert = await getAlert(db, id);
    if (!alert) throw notFound(`alert ${id}`);
    const upload = alertUploadId(alert);
    return alertView(
      alert,
      await getKernel(db, alert.kernelBuildId),
      upload ? await getKernel(db, upload) : undefined,
    );
  },
} satisfies Handlers;
