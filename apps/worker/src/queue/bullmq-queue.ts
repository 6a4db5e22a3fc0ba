import { JOB_NAMES, type JobName, type Payload } from '@btfwatch/jobs';
import { Queue, Worker, type Job, type JobType } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  RETRY,
  type EnqueueOptions,
  type JobInfo,
  type JobQueue,
  type JobState,
  type Processors,
} from './types.ts';

export interface BullmqOptions {
  url: string;
  /** Key prefix; tests isolate themselves with a unique one. */
  prefix?: string | undefined;
  /** Multiplies retry backoff delays (tests shrink them). */
  backoffScale?: number;
}

function connect(url: string): Redis {
  // BullMQ workers block on Redis; null makes ioredis wait instead of failing commands during reconnects.
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', () => undefined);
  return redis;
}

const STATE_MAP: Record<string, JobState> = {
  waiting: 'waiting',
  'waiting-children': 'waiting',
  prioritized: 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
};

async function toInfo(job: Job, knownState?: string): Promise<JobInfo> {
  const state = STATE_MAP[knownState ?? (await job.getState())] ?? 'waiting';
  const progress = typeof job.progress === 'object' && job.progress !== null ? job.progress : null;
  return {
    id: job.id ?? '',
    name: job.name as JobName,
    state,
    data: job.data as Record<string, unknown>,
    progress: progress as Record<string, unknown> | null,
    attempts: job.attemptsMade,
    result: (job.returnvalue as Record<string, unknown> | undefined) ?? null,
    error: job.failedReason || null,
    processedBy: job.processedBy ?? null,
    createdAt: new Date(job.timestamp),
    finishedAt: job.finishedOn ? new Date(job.finishedOn) : null,
  };
}

export class BullmqJobQueue implements JobQueue {
  readonly kind = 'bullmq' as const;
  private readonly redis: Redis;
  private readonly queues: Map<JobName, Queue>;

  constructor(readonly options: BullmqOptions) {
    this.redis = connect(options.url);
    this.queues = new Map(
      JOB_NAMES.map((name) => [
        name,
        new Queue(name, {
          connection: this.redis,
          prefix: options.prefix ?? 'btfwatch',
          defaultJobOptions: {
            attempts: RETRY[name].attempts,
            backoff: {
              type: 'exponential',
              delay: Math.round(RETRY[name].backoffMs * (options.backoffScale ?? 1)),
            },
            removeOnComplete: { age: 7 * 86400, count: 100_000 },
            removeOnFail: { age: 30 * 86400 },
          },
        }),
      ]),
    );
  }

  private queue(name: JobName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`unknown queue ${name}`);
    return q;
  }

  async enqueue<N extends JobName>(name: N, data: Payload<N>, options: EnqueueOptions): Promise<string> {
    const job = await this.queue(name).add(name, data, { jobId: options.jobId, delay: options.delayMs ?? 0 });
    return job.id ?? options.jobId;
  }

  async get(id: string): Promise<JobInfo | null> {
    const name = JOB_NAMES.find((n) => id.startsWith(`${n}.`));
    if (!name) return null;
    // State first: a job read before it finished must not be reported finished without its result.
    const state = await this.queue(name).getJobState(id);
    const job = await this.queue(name).getJob(id);
    return job ? toInfo(job, state) : null;
  }

  async list(options: { names?: JobName[]; states?: JobState[]; limit?: number }): Promise<JobInfo[]> {
    const states = (options.states ?? ['active', 'waiting', 'delayed', 'completed', 'failed']) as JobType[];
    const limit = options.limit ?? 50;
    const all: JobInfo[] = [];
    for (const name of options.names ?? JOB_NAMES) {
      const jobs = await this.queue(name).getJobs(states, 0, limit - 1, false);
      for (const job of jobs) all.push(await toInfo(job));
    }
    return all.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()).slice(0, limit);
  }

  async counts(): Promise<Record<JobState, number>> {
    const total: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 };
    for (const q of this.queues.values()) {
      const c = await q.getJobCounts();
      for (const [k, v] of Object.entries(c)) {
        const state = STATE_MAP[k];
        if (state) total[state] += v;
      }
    }
    return total;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.redis.disconnect();
  }
}

export interface WorkerHost {
  close(): Promise<void>;
}

/** One BullMQ Worker per queue, each dispatching to the processor for its job name. */
export function startBullmqWorkers(
  options: BullmqOptions & { concurrency: number; name: string; lockMs?: number },
  processors: Processors,
  logger: Logger,
): WorkerHost {
  const workers: Worker[] = [];
  const connections: Redis[] = [];
  for (const name of JOB_NAMES) {
    const processor = processors[name];
    if (!processor) continue;
    const worker = new Worker(
      name,
      async (job: Job) => {
        logger.info({ jobId: job.id, job: name, attempt: job.attemptsMade + 1 }, 'job started');
        return processor({
          id: job.id ?? '',
          name,
          data: job.data,
          attempt: job.attemptsMade + 1,
          updateProgress: (p: Record<string, unknown>) => job.updateProgress(p),
        } as never);
      },
      {
        connection: connections[connections.push(connect(options.url)) - 1]!,
        prefix: options.prefix ?? 'btfwatch',
        concurrency: options.concurrency,
        name: options.name,
        // Ingest does long CPU stretches; a generous lock keeps the job ours between event-loop turns.
        // A killed worker's job is found stalled and handed to another after the lock expires.
        lockDuration: options.lockMs ?? 120_000,
        stalledInterval: Math.min(30_000, options.lockMs ?? 30_000),
        maxStalledCount: 2,
      },
    );
    worker.on('completed', (job) => logger.info({ jobId: job.id, job: name }, 'job completed'));
    worker.on('failed', (job, err) =>
      logger.warn({ jobId: job?.id, job: name, err: err.message, attempts: job?.attemptsMade }, 'job failed'),
    );
    worker.on('error', (err) => logger.error({ err: err.message, job: name }, 'worker error'));
    workers.push(worker);
  }
  return {
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
      for (const c of connections) c.disconnect();
    },
  };
}
