import type { Handlers } from './types.ts';

async function check(kind: string, probe: () => Promise<void>) {
  try {
    await probe();
    return { ok: true, kind };
  } catch (err) {
    return { ok: false, kind, error: err instanceof Error ? err.message : String(err) };
  }
}

export const serviceHandlers = {
  async getHealth(request) {
    return { status: 'ok', version: request.server.deps.version, uptimeSeconds: process.uptime() };
  },

  async getReady(request, reply) {
    const { database, queue } = request.server.deps;
    const [db, q] = await Promise.all([
      check(database.kind, () => database.ping()),
      check(queue.kind, () => queue.ping()),
    ]);
    const ready = db.ok && q.ok;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', checks: { database: db, queue: q } });
  },

  async getMetrics(request, reply) {
    const { metrics, deps } = request.server;
    try {
      const counts = await deps.queue.counts();
      for (const [state, n] of Object.entries(counts)) metrics.jobs.set({ state }, n);
    } catch {
      // The scrape still answers; queue gauges keep their last values.
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  },
} satisfies Handlers;
