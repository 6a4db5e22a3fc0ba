import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { loadConfig } from '@btfwatch/config';
import { createMirror, migrateDatabase, openDatabase, type DatabaseHandle } from '@btfwatch/db';
import { DbJobQueue, buildProcessorSet, startInProcessRunner } from '@btfwatch/worker';
import type { JobQueue } from '@btfwatch/jobs';
import type { MirrorHandle } from './mirror-server/index.ts';
import { createTempDatabase, tempDir } from './services.ts';

export const SUITE = 'bookworm-security';

/**
 * The real processors on a fresh Postgres database with the database-backed queue, its retry backoff
 * shrunk a thousandfold (a 10 s backoff takes 10 ms), so tests see jobs retried and failed quickly.
 */
export interface WorkerHarness {
  database: DatabaseHandle;
  queue: DbJobQueue;
  /** Resolves when no job is waiting, delayed or running. */
  idle(): Promise<void>;
  /** Adds the loopback mirror (apt, one suite, its signing key). */
  addMirror(mirror: MirrorHandle): Promise<number>;
  /** Queues a scan of the mirror and waits for every job it leads to; returns the scan job. */
  scan(mirrorId: number): Promise<Awaited<ReturnType<DbJobQueue['get']>>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra environment for the config (e.g. BTFWATCH_WEBHOOK_ALLOW). */
  env?: Record<string, string>;
  /** The queue the processors enqueue through (the runner takes jobs from the real one). */
  processorQueue?: (queue: DbJobQueue) => JobQueue;
}

export async function startWorkerHarness(options: HarnessOptions = {}): Promise<WorkerHarness> {
  const temp = await createTempDatabase();
  const dir = tempDir('btfwatch-worker-');
  const config = loadConfig({
    DATA_DIR: dir.path,
    DATABASE_URL: temp.url,
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const logger = pino({ level: 'silent' });
  const database = await openDatabase({ url: temp.url });
  await migrateDatabase(database);
  const queue = new DbJobQueue(database.db, 0.001);
  const set = buildProcessorSet({
    config,
    database,
    queue: options.processorQueue?.(queue) ?? queue,
    logger,
    now: () => new Date(),
  });
  const runner = startInProcessRunner(queue, set.processors, { concurrency: 2, pollMs: 50 }, logger);
  let scans = 0;
  return {
    database,
    queue,
    idle: () => runner.idle(),
    addMirror: async (mirror) =>
      (
        await createMirror(database.db, {
          kind: 'apt',
          url: mirror.aptUrl.replace(/\/+$/, ''),
          distro: 'debian',
          suites: [SUITE],
          components: ['main'],
          arch: 'amd64',
          keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
        })
      ).id,
    async scan(mirrorId) {
      const id = await queue.enqueue(
        'scan-mirror',
        { mirrorId, trigger: 'api' },
        { jobId: `scan-mirror.${mirrorId}.test-${++scans}` },
      );
      await runner.idle();
      return queue.get(id);
    },
    async close() {
      await runner.close();
      await set.close();
      await database.close();
      await temp.drop();
      dir.remove();
    },
  };
}
