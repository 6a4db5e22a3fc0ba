import { randomUUID } from 'node:crypto';
import { JOB_NAMES, type JobName, type Payload } from '@btfwatch/jobs';
import { jobs, type Database, type JobRow } from '@btfwatch/db';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import {
  RETRY,
  backoffDelay,
  isPermanent,
  type EnqueueOptions,
  type JobInfo,
  type JobQueue,
  type JobState,
  type Processors,
} from './types.ts';

function toInfo(row: JobRow): JobInfo {
  return {
    id: row.id,
    name: row.name as JobName,
    state: row.state,
    data: row.data,
    progress: row.progress ?? null,
    attempts: row.attempts,
    result: row.result ?? null,
    error: row.error ?? null,
    processedBy: row.lockedBy ?? null,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt ?? null,
  };
}

/**
 * The embedded-mode queue: jobs are rows in the `jobs` table, so a crash loses nothing — rows left
 * `active` by a dead process go back to `waiting` when the runner starts.
 */
export class DbJobQueue implements JobQueue {
  readonly kind = 'in-process' as const;
  /** Wakes the runner when a job is added, instead of waiting for its next poll. */
  onEnqueue: (() => void) | undefined;

  constructor(
    private readonly db: Database,
    /** Multiplies retry backoff delays (tests shrink them). */
    private readonly backoffScale = 1,
  ) {}

  async enqueue<N extends JobName>(name: N, data: Payload<N>, options: EnqueueOptions): Promise<string> {
    const delayMs = options.delayMs ?? 0;
    await this.db
      .insert(jobs)
      .values({
        id: options.jobId,
        queue: name,
        name,
        data: data as unknown as Record<string, unknown>,
        state: delayMs > 0 ? 'delayed' : 'waiting',
        maxAttempts: RETRY[name].attempts,
        runAt: new Date(Date.now() + delayMs),
      })
      .onConflictDoNothing();
    this.onEnqueue?.();
    return options.jobId;
  }

  async get(id: string): Promise<JobInfo | null> {
    const [row] = await this.db.select().from(jobs).where(eq(jobs.id, id));
    return row ? toInfo(row) : null;
  }

  async list(options: { names?: JobName[]; states?: JobState[]; limit?: number }): Promise<JobInfo[]> {
    const conditions = [];
    if (options.names) conditions.push(inArray(jobs.name, options.names));
    if (options.states) conditions.push(inArray(jobs.state, options.states));
    const rows = await this.db
      .select()
      .from(jobs)
      .where(conditions.length ? and(...conditions) : undefined)
      .orderBy(desc(jobs.createdAt))
      .limit(options.limit ?? 50);
    return rows.map(toInfo);
  }

  async counts(): Promise<Record<JobState, number>> {
    const rows = await this.db
      .select({ state: jobs.state, n: sql<number>`count(*)::int` })
      .from(jobs)
      .groupBy(jobs.state);
    const total: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    for (const r of rows) total[r.state] = Number(r.n);
    return total;
  }

  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }

  async close(): Promise<void> {}

  /** Claims the next due job of `name`, or null. */
  async claim(name: JobName, owner: string): Promise<JobRow | null> {
    const rows = await this.db
      .update(jobs)
      .set({ state: 'active', lockedBy: owner, attempts: sql`${jobs.attempts} + 1`, updatedAt: new Date() })
      .where(
        eq(
          jobs.id,
          sql`(select id from jobs where queue = ${name} and state in ('waiting', 'delayed') and run_at <= now()
              order by run_at, created_at limit 1 for update skip locked)`,
        ),
      )
      .returning();
    return rows[0] ?? null;
  }

  async complete(id: string, result: Record<string, unknown>): Promise<void> {
    await this.db
      .update(jobs)
      .set({ state: 'completed', result, error: null, finishedAt: new Date(), updatedAt: new Date() })
      .where(eq(jobs.id, id));
  }

  async fail(row: JobRow, err: unknown): Promise<void> {
    const message = err instanceof Error ? err.message : String(err);
    const retry = !isPermanent(err) && row.attempts < row.maxAttempts;
    await this.db
      .update(jobs)
      .set(
        retry
          ? {
              state: 'delayed',
              error: message,
              runAt: new Date(
                Date.now() + backoffDelay(row.name as JobName, row.attempts, this.backoffScale),
              ),
              updatedAt: new Date(),
            }
          : { state: 'failed', error: message, finishedAt: new Date(), updatedAt: new Date() },
      )
      .where(eq(jobs.id, row.id));
  }

  async setProgress(id: string, progress: Record<string, unknown>): Promise<void> {
    await this.db.update(jobs).set({ progress, updatedAt: new Date() }).where(eq(jobs.id, id));
  }

  /** Jobs a previous process left active can only belong to a dead process in embedded mode. */
  async requeueOrphans(): Promise<number> {
    const rows = await this.db
      .update(jobs)
      .set({ state: 'waiting', lockedBy: null, updatedAt: new Date() })
      .where(eq(jobs.state, 'active'))
      .returning({ id: jobs.id });
    return rows.length;
  }

  /** Jobs not finished yet: waiting, delayed (including retries scheduled for later) or active. */
  async unfinishedCount(): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(jobs)
      .where(inArray(jobs.state, ['waiting', 'delayed', 'active']));
    return Number(row?.n ?? 0);
  }
}

/** Runs due jobs of every queue in this process, `concurrency` at a time per queue. */
export function startInProcessRunner(
  queue: DbJobQueue,
  processors: Processors,
  options: { concurrency: number; pollMs?: number },
  logger: Logger,
): { close(): Promise<void>; idle(): Promise<void> } {
  const owner = `in-process-${randomUUID()}`;
  const running = new Set<Promise<void>>();
  const activePerQueue = new Map<JobName, number>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping = false;
  let pumpAgain = false;
  const idleWaiters: Array<() => void> = [];

  const runOne = async (name: JobName, row: JobRow): Promise<void> => {
    const processor = processors[name];
    logger.info({ jobId: row.id, job: name, attempt: row.attempts }, 'job started');
    try {
      if (!processor) throw new Error(`no processor for ${name}`);
      const result = await processor({
        id: row.id,
        name,
        data: row.data,
        attempt: row.attempts,
        updateProgress: (p: Record<string, unknown>) => queue.setProgress(row.id, p),
      } as never);
      await queue.complete(row.id, result);
      logger.info({ jobId: row.id, job: name }, 'job completed');
    } catch (err) {
      logger.warn(
        { jobId: row.id, job: name, err: err instanceof Error ? err.message : String(err) },
        'job failed',
      );
      await queue
        .fail(row, err)
        .catch((e) => logger.error({ err: String(e) }, 'could not record job failure'));
    }
  };

  const pump = async (): Promise<void> => {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        for (const name of JOB_NAMES) {
          if (!processors[name]) continue;
          while (!stopped && (activePerQueue.get(name) ?? 0) < options.concurrency) {
            const row = await queue.claim(name, owner);
            if (!row) break;
            activePerQueue.set(name, (activePerQueue.get(name) ?? 0) + 1);
            const p = runOne(name, row).finally(() => {
              activePerQueue.set(name, (activePerQueue.get(name) ?? 1) - 1);
              running.delete(p);
              if (!stopped) void pump();
            });
            running.add(p);
          }
        }
      } while (pumpAgain && !stopped);
    } catch (err) {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'job runner poll failed');
    } finally {
      pumping = false;
    }
    if (running.size === 0 && !stopped && idleWaiters.length > 0) {
      // Only waiters already registered when the count is taken may be released by it: a count that
      // started before a job was enqueued and its waiter registered would release that waiter too early.
      const waiters = idleWaiters.slice();
      const unfinished = await queue.unfinishedCount().catch(() => 0);
      if (unfinished === 0 && running.size === 0) {
        for (const w of waiters) idleWaiters.splice(idleWaiters.indexOf(w), 1);
        for (const w of waiters) w();
      }
    }
  };

  queue.onEnqueue = () => void pump();
  const schedule = () => {
    timer = setTimeout(async () => {
      await pump();
      if (!stopped) schedule();
    }, options.pollMs ?? 1000);
    timer.unref();
  };
  void queue.requeueOrphans().then((n) => {
    if (n > 0) logger.warn({ jobs: n }, 'requeued jobs left active by a previous process');
    void pump();
    schedule();
  });

  return {
    /** Resolves when every job has finished (retries included); for tests and one-shot CLI commands. */
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        void pump();
      }),
    close: async () => {
      stopped = true;
      queue.onEnqueue = undefined;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...running]);
    },
  };
}
