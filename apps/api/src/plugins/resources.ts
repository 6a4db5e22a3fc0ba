import fp from 'fastify-plugin';
import type { ApiDeps } from '../deps.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Configuration, database, queue and logger, as the process created them. */
    deps: ApiDeps;
  }
}

/** Makes the process's infrastructure reachable as `app.deps`; closes it with the app where the app owns it. */
export type ResourcesPlugin = typeof resources;

export const resources = fp<ApiDeps>(
  async (app, deps) => {
    app.decorate('deps', deps);
    if (deps.ownsResources)
      app.addHook('onClose', async () => {
        await deps.queue.close();
        await deps.database.close();
      });
  },
  { name: 'resources' },
);
