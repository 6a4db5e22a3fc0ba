import type { FastifyRequest } from 'fastify';
import { getAlert, getKernel, listAlerts } from '@btfwatch/db';
import { notFound } from '../errors.ts';
import { alertView, cursorValue, nextCursor } from '../views.ts';
import type { Handlers } from './types.ts';

export const alertHandlers: Handlers = {
  async listAlerts(request: FastifyRequest) {
    const q = request.query as {
      kernel?: number;
      severity?: 'warning' | 'critical';
      since?: string;
      limit: number;
      cursor?: string;
    };
    const { db } = request.server.deps.database;
    const rows = await listAlerts(db, {
      kernelBuildId: q.kernel,
      severity: q.severity,
      since: q.since ? new Date(q.since) : undefined,
      limit: q.limit,
      before: cursorValue(q.cursor),
    });
    const kernels = new Map<number, Awaited<ReturnType<typeof getKernel>>>();
    for (const id of new Set(rows.map((r) => r.kernelBuildId))) kernels.set(id, await getKernel(db, id));
    return {
      items: rows.map((a) => alertView(a, kernels.get(a.kernelBuildId))),
      nextCursor: nextCursor(rows, q.limit, (a) => a.id),
    };
  },

  async getAlert(request: FastifyRequest) {
    const { id } = request.params as { id: number };
    const { db } = request.server.deps.database;
    const alert = await getAlert(db, id);
    if (!alert) throw notFound(`alert ${id}`);
    return alertView(alert, await getKernel(db, alert.kernelBuildId));
  },
};
