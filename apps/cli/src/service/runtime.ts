import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '@btfwatch/config';
import { migrateDatabase, openDatabase, type DatabaseHandle } from '@btfwatch/db';
import { buildApp } from '@btfwatch/api';
import {
  BullmqJobQueue,
  DbJobQueue,
  buildProcessorSet,
  startBullmqWorkers,
  startScheduler,
  startInProcessRunner,
  type ProcessorDeps,
} from '@btfwatch/worker';
import type { JobQueue, Processors } from '@btfwatch/jobs';
import { hostname } from 'node:os';
import { createLogger, flushLogger } from '../logger.ts';
import { UsageError } from '../usage.ts';
import { version } from '../version.ts';

// The composition root: the one place that puts the API and the workers into one process (`serve`) or
// starts either alone. Loaded only by the service commands.

export type Role = 'serve' | 'api' | 'worker';

export interface RuntimeOptions {
  /** Start the job workers of `serve`/`worker` (default true); without them other processes do the work. */
  workers?: boolean;
  /** Listen on config.host:port (default true); without it the app answers `app.inject` only. */
  listen?: boolean;
  /** Processors instead of the real ones (tests inject faults); given the same deps the real ones get. */
  processors?: (deps: ProcessorDeps) => Processors;
  /** The clock processors and the scheduler read (default: the system clock). */
  now?: () => Date;
  /** How often the in-process runner looks for due jobs (embedded mode). */
  pollMs?: number;
  /** BullMQ worker name (default host-pid). */
  workerName?: string;
}

export interface Runtime {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  queue: JobQueue;
  app?: FastifyInstance;
  /** Resolves when no in-process job is running or due (embedded mode only). */
  idle?: () => Promise<void>;
  stop(): Promise<void>;
}

/** Opens the database (migrating it), the job queue, and starts the API and/or the workers for `role`. */
export async function startRuntime(
  config: Config,
  role: Role,
  logger = createLogger(config),
  options: RuntimeOptions = {},
): Promise<Runtime> {
  if (role !== 'serve' && (!config.databaseUrl || !config.redisUrl)) {
    throw new UsageError(
      `btfwatch ${role} runs beside other processes and needs DATABASE_URL and REDIS_URL; use \`btfwatch serve\` for the embedded single-process mode`,
    );
  }
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  const closers: Array<() => Promise<void>> = [() => database.close()];
  try {
    await migrateDatabase(database);
    logger.info({ database: database.kind, location: database.location }, 'database ready');
    const queue: JobQueue = config.redisUrl
      ? new BullmqJobQueue({ url: config.redisUrl, prefix: config.queuePrefix })
      : new DbJobQueue(database.db);
    closers.unshift(() => queue.close());
    // Alone in its process the API owns them: its resources plugin closes them with it.
    const apiOwns = role === 'api';

    const runtime: Runtime = { config, logger, database, queue, stop: async () => undefined };
    if (role !== 'api' && options.workers !== false) {
      const now = options.now ?? (() => new Date());
      const set = buildProcessorSet({ config, database, queue, logger, now });
      const processors = options.processors
        ? options.processors({ config, database, queue, logger, now })
        : set.processors;
      closers.unshift(() => set.close());
      if (queue instanceof DbJobQueue) {
        const runner = startInProcessRunner(
          queue,
          processors,
          {
            concurrency: config.workerConcurrency,
            ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
          },
          logger,
        );
        runtime.idle = runner.idle;
        closers.unshift(() => runner.close());
      } else if (config.redisUrl) {
        const host = startBullmqWorkers(
          {
            url: config.redisUrl,
            prefix: config.queuePrefix,
            concurrency: config.workerConcurrency,
            name: options.workerName ?? `${hostname()}-${process.pid}`,
            lockMs: config.jobLockMs,
          },
          processors,
          logger,
        );
        closers.unshift(() => host.close());
      }
      const scheduler = startScheduler(
        database.db,
        queue,
        { defaultIntervalSeconds: config.scanIntervalSeconds, now },
        logger,
      );
      closers.unshift(async () => scheduler.close());
      logger.info({ queue: queue.kind, concurrency: config.workerConcurrency }, 'workers started');
    }
    if (role === 'serve' || role === 'api') {
      const app = await buildApp({ config, database, queue, logger, version, ownsResources: apiOwns });
      runtime.app = app;
      if (apiOwns) closers.splice(0);
      closers.unshift(() => app.close());
      if (options.listen === false) await app.ready();
      else await app.listen({ port: config.port, host: config.host });
    }
    runtime.stop = async () => {
      for (const close of closers.splice(0)) {
        await close().catch((err: unknown) => logger.error({ err: String(err) }, 'error during shutdown'));
      }
      await flushLogger(logger);
    };
    return runtime;
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }
}
