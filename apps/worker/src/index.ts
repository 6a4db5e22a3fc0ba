export { BullmqJobQueue, startBullmqWorkers } from './queue/bullmq-queue.ts';
export type { BullmqOptions, WorkerHost } from './queue/bullmq-queue.ts';
export { DbJobQueue, startInProcessRunner } from './queue/db-queue.ts';
export { PermanentJobError, RETRY, backoffDelay, isPermanent } from './queue/types.ts';
export type {
  EnqueueOptions,
  JobContext,
  JobInfo,
  JobQueue,
  JobState,
  Processor,
  Processors,
} from './queue/types.ts';
export { buildProcessors } from './processors/index.ts';
export type { ProcessorDeps } from './processors/index.ts';
