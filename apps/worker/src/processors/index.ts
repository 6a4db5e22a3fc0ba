import type { Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import type { Logger } from 'pino';
import type { JobQueue, Processors } from '../queue/types.ts';

/** What processors need; `now` is injectable so schedules can be tested with a controllable clock. */
export interface ProcessorDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  logger: Logger;
  now: () => Date;
}

export function buildProcessors(_deps: ProcessorDeps): Processors {
  return {};
}
