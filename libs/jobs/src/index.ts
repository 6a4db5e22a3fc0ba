export { JOB_NAMES, isJobName } from './names.ts';
export type { JobName } from './names.ts';
export { jobIds } from './payloads.ts';
export type {
  DeliverWebhookPayload,
  EvaluateKernelPayload,
  IngestPackagePayload,
  Payload,
  PayloadOf,
  ScanMirrorPayload,
} from './payloads.ts';
export type {
  EnqueueOptions,
  JobContext,
  JobInfo,
  JobQueue,
  JobState,
  Processor,
  Processors,
} from './queue.ts';
