import type { JobName, Payload } from '@btfwatch/jobs';
import { UnrecoverableError } from 'bullmq';

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

export interface JobInfo {
  id: string;
  name: JobName;
  state: JobState;
  data: Record<string, unknown>;
  progress: Record<string, unknown> | null;
  attempts: number;
  result: Record<string, unknown> | null;
  error: string | null;
  processedBy: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface EnqueueOptions {
  /** Deterministic id; adding an id that exists is a no-op that returns the existing job's id. */
  jobId: string;
  delayMs?: number;
}

/** Where jobs are put and looked up: BullMQ on Redis, or the database-backed in-process queue. */
export interface JobQueue {
  readonly kind: 'bullmq' | 'in-process';
  enqueue<N extends JobName>(name: N, data: Payload<N>, options: EnqueueOptions): Promise<string>;
  get(id: string): Promise<JobInfo | null>;
  /** Jobs of one name in the given states, newest first. */
  list(options: { names?: JobName[]; states?: JobState[]; limit?: number }): Promise<JobInfo[]>;
  counts(): Promise<Record<JobState, number>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface JobContext<N extends JobName = JobName> {
  id: string;
  name: N;
  data: Payload<N>;
  /** 1 on the first run. */
  attempt: number;
  updateProgress(progress: Record<string, unknown>): Promise<void>;
}

export type Processor<N extends JobName = JobName> = (job: JobContext<N>) => Promise<Record<string, unknown>>;
export type Processors = { [N in JobName]?: Processor<N> };

/** Retrying cannot help (malformed package, unknown id): fail the job at once. */
export class PermanentJobError extends UnrecoverableError {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'PermanentJobError';
    this.code = code;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Per-job-name attempts and exponential backoff base for transient failures. */
export const RETRY: Record<JobName, { attempts: number; backoffMs: number }> = {
  'scan-mirror': { attempts: 5, backoffMs: 10_000 },
  'ingest-package': { attempts: 5, backoffMs: 10_000 },
  'evaluate-kernel': { attempts: 3, backoffMs: 5_000 },
  // Webhook retries follow their own schedule (one attempt per job; the next is a new delayed job).
  'deliver-webhook': { attempts: 1, backoffMs: 0 },
};

/** `scale` shrinks delays for tests; production uses 1. */
export function backoffDelay(name: JobName, attempt: number, scale = 1): number {
  return Math.round(RETRY[name].backoffMs * scale * 2 ** Math.max(0, attempt - 1));
}

export function isPermanent(err: unknown): boolean {
  return err instanceof UnrecoverableError;
}
