import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { destination, pino, type Logger } from 'pino';
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
} from '@btfwatch/worker';
import type { JobQueue } from '@btfwatch/jobs';
import { hostname } from 'node:os';

export const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export type Role = 'serve' | 'api' | 'worker';

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

export class UsageError extends Error {}

/**
 * JSON logs: on stdout for services, on stderr for one-shot commands whose stdout is their output.
 * Services write asynchronously (a synchronous write per request log line cost the API ~9% of its CPU
 * under load); what is buffered is flushed by `Runtime.stop`, and by pino on process exit.
 */
export function createLogger(config: Config, fd: 1 | 2 = 1): Logger {
  return pino(
    { level: config.logLevel, base: { service: 'btfwatch', pid: process.pid } },
    destination({ dest: fd, sync: fd === 2 }),
  );
}

/** Writes out what the logger holds (a no-op for synchronous destinations). */
function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Opens the database (migrating it), the job queue, and starts the API and/or the workers for `role`. */
export async function startRuntime(
  config: Config,
  role: Role,
  logger = createLogger(config),
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

    const runtime: Runtime = { config, logger, database, queue, stop: async () => undefined };
    if (role === 'serve' || role === 'worker') {
      const set = buildProcessorSet({ config, database, queue, logger, now: () => new Date() });
      const processors = set.processors;
      closers.unshift(() => set.close());
      if (queue instanceof DbJobQueue) {
        const runner = startInProcessRunner(
          queue,
          processors,
          { concurrency: config.workerConcurrency },
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
            name: `${hostname()}-${process.pid}`,
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
        { defaultIntervalSeconds: config.scanIntervalSeconds },
        logger,
      );
      closers.unshift(async () => scheduler.close());
      logger.info({ queue: queue.kind, concurrency: config.workerConcurrency }, 'workers started');
    }
    if (role === 'serve' || role === 'api') {
      const app = await buildApp({ config, database, queue, logger, version });
      await app.listen({ port: config.port, host: config.host });
      runtime.app = app;
      closers.unshift(() => app.close());
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
