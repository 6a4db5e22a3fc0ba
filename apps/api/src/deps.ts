import type { Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import type { JobQueue } from '@btfwatch/worker';
import type { Logger } from 'pino';

/** Everything routes reach through `app.deps`. */
export interface ApiDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  logger: Logger;
  version: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: ApiDeps;
  }
}
