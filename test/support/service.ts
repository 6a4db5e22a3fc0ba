import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { loadConfig, type Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import { loggerOptions, startRuntime, type Runtime } from '@btfwatch/cli';
import type { ProcessorDeps } from '@btfwatch/worker';
import type { JobQueue, Processors } from '@btfwatch/jobs';
import { REDIS_URL, createTempDatabase, tempDir, uniqueQueuePrefix } from './services.ts';

export type Mode = 'embedded' | 'distributed';
export const MODES: Mode[] = ['embedded', 'distributed'];

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestService {
  mode: Mode;
  app: FastifyInstance;
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  /** BullMQ key prefix in distributed mode (for extra worker processes joining the same queues). */
  queuePrefix?: string;
  /** Waits until no job is running or due. */
  drain(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  env?: Record<string, string>;
  /** Start workers in this process (default true). */
  workers?: boolean;
  processors?: (deps: ProcessorDeps) => Processors;
  now?: () => Date;
  /** Where the service's log lines go, written as `btfwatch serve` writes them (redaction included). */
  logStream?: { write(line: string): unknown };
}

/**
 * The real service wired as `btfwatch serve` wires it: embedded = PGlite + in-process jobs;
 * distributed = a fresh Postgres database + BullMQ on the local Redis under a unique prefix.
 */
export async function startTestService(mode: Mode, options: TestServiceOptions = {}): Promise<TestService> {
  const dir = tempDir('btfwatch-svc-');
  const temp = mode === 'distributed' ? await createTempDatabase() : undefined;
  const queuePrefix = temp ? uniqueQueuePrefix() : undefined;
  const config = loadConfig({
    DATA_DIR: dir.path,
    BTFWATCH_ADMIN_TOKEN: ADMIN_TOKEN,
    BTFWATCH_RATE_LIMIT: '0',
    // Scans run when a test asks for them; the scheduler still sweeps webhook deliveries.
    BTFWATCH_SCAN_INTERVAL: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1',
    ...(temp ? { DATABASE_URL: temp.url, REDIS_URL: REDIS_URL, BTFWATCH_QUEUE_PREFIX: queuePrefix! } : {}),
    ...options.env,
  });
  const workers = options.workers !== false;
  let runtime: Runtime;
  try {
    runtime = await startRuntime(
      config,
      mode === 'distributed' && !workers ? 'api' : 'serve',
      options.logStream ? pino(loggerOptions(config), options.logStream) : pino({ level: config.logLevel }),
      {
        workers,
        listen: false,
        pollMs: 100,
        workerName: 'test-worker',
        ...(options.processors ? { processors: options.processors } : {}),
        ...(options.now ? { now: options.now } : {}),
      },
    );
  } catch (err) {
    await temp?.drop();
    dir.remove();
    throw err;
  }
  const { database, queue, app } = runtime;
  // Without local workers, other processes do the work: wait for the shared queue to go quiet.
  const idle = runtime.idle ?? (() => waitForQuietQueue(queue));
  return {
    mode,
    app: app!,
    config,
    database,
    queue,
    ...(queuePrefix ? { queuePrefix } : {}),
    drain: (timeoutMs = 120_000) =>
      Promise.race([
        idle(),
        new Promise<void>((_, reject) =>
          setTimeout(() => reject(new Error(`jobs still running after ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ]),
    close: async () => {
      await runtime.stop();
      await temp?.drop();
      dir.remove();
    },
  };
}

export async function waitForQuietQueue(queue: JobQueue): Promise<void> {
  let quietRounds = 0;
  while (quietRounds < 3) {
    const c = await queue.counts();
    quietRounds = c.active + c.waiting + c.delayed === 0 ? quietRounds + 1 : 0;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function authHeader(token = ADMIN_TOKEN): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** `POST /v1/mirrors` for a loopback fixture apt mirror, trusting its throwaway key; returns the mirror id. */
export function addAptMirror(
  app: FastifyInstance,
  mirror: { aptUrl: string; key: { armoredPublicKeyPath: string } },
  suites: string[] = ['bookworm-security'],
): Promise<number> {
  return addMirror(app, mirror, { kind: 'apt', url: mirror.aptUrl, suites });
}

/** `POST /v1/mirrors` for a loopback fixture rpm-md repository, trusting its throwaway key; returns the mirror id. */
export function addRpmMirror(
  app: FastifyInstance,
  mirror: { rpmUrl: string; key: { armoredPublicKeyPath: string } },
): Promise<number> {
  return addMirror(app, mirror, { kind: 'rpm', url: mirror.rpmUrl });
}

async function addMirror(
  app: FastifyInstance,
  mirror: { key: { armoredPublicKeyPath: string } },
  payload: Record<string, unknown>,
): Promise<number> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: { ...payload, keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8') },
  });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: number }).id;
}

/** Adds a fixture rpm-md repository, scans it and waits until every job is done; returns the kernels listed. */
export async function scanRpmMirror(
  svc: TestService,
  mirror: { rpmUrl: string; key: { armoredPublicKeyPath: string } },
): Promise<Array<{ id: number; release: string; baseBtfSha256: string }>> {
  await requestScan(svc.app, await addRpmMirror(svc.app, mirror));
  await svc.drain();
  return (await svc.app.inject({ url: '/v1/kernels' })).json().items;
}

/** `POST /v1/mirrors/{id}/scan`; returns the scan's job id (the scan itself runs on the service's workers). */
export async function requestScan(app: FastifyInstance, mirrorId: number): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/mirrors/${mirrorId}/scan`,
    headers: authHeader(),
  });
  assert.equal(res.statusCode, 202, res.body);
  return (res.json() as { jobId: string }).jobId;
}
