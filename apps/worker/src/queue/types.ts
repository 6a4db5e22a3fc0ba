import type { JobName } from '@btfwatch/jobs';
import { UnrecoverableError } from 'bullmq';

export type {
  EnqueueOptions,
  JobContext,
  JobInfo,
  JobQueue,
  JobState,
  Processor,
  Processors,
} from '@btfwatch/jobs';

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
