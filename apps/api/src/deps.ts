import type { Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import type { Btf } from '@btfwatch/btf';
import type { Evaluator } from '@btfwatch/evaluate';
import type { JobQueue } from '@btfwatch/jobs';
import type { Logger } from 'pino';
import type { KernelLookups, ResponseCache } from './compat-cache.ts';

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
    /** Computes verdicts on request (compat queries, uploads, diffs). */
    evaluator: Evaluator;
    /** What differs between two base BTFs, for kernel diffs. */
    baseDiff: (a: Btf, b: Btf) => Record<string, unknown>;
    /** GET /v1/compat answers and the kernel lookups that say whether they are current. */
    compatCache: { kernels: KernelLookups; responses: ResponseCache };
  }
}
