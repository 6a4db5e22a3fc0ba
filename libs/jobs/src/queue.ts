import type { JobName } from './names.ts';
import type { Payload } from './payloads.ts';

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
