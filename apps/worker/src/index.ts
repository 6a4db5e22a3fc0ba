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
export { webhookDeps } from './processors/index.ts';
export {
  DeliveryPendingError,
  attemptLeaseMs,
  deliverWebhookProcessor,
  deliveryJobId,
  emitEvent,
  queueDeliveries,
  recordEvent,
  redeliver,
  requeueOverdueDeliveries,
} from './webhooks/deliveries.ts';
export type { WebhookDeps } from './webhooks/deliveries.ts';
export { ALERT_MODULES_SHOWN, affectedPackages, btfBreakEvent, eventLinks } from './webhooks/events.ts';
export { resolveTarget } from './webhooks/http-target.ts';
export { buildProcessorSet, createEvaluator } from './processors/index.ts';
export type { BuiltProcessors } from './processors/index.ts';
export { Evaluator } from './evaluate/engine.ts';
export type { EvaluateOptions, KernelContext, ModuleVerdict } from './evaluate/engine.ts';
export { settleBuildBases } from './evaluate/build-base.ts';
export type { InferredBase } from './evaluate/build-base.ts';
export type { EvaluationModule } from './evaluate/module-rows.ts';
export { extractPackage, extractPackageStream } from './ingest/extract.ts';
export type { ExtractedModule, ExtractedPackage, KernelPart } from './ingest/extract.ts';
export { relevantModules, resolveKernel } from './evaluate/relevant.ts';
export { queueEvaluations } from './processors/ingest-package.ts';
export { BaseCache } from './evaluate/bases.ts';
export { PairDiffCache, btfAssessmentDeps, describeBaseDiff } from './evaluate/references.ts';
export { DEFAULT_DELIVERY_GRACE_MS, queueDueScans, startScheduler, sweepDeliveries } from './scheduler.ts';
export type { SchedulerOptions } from './scheduler.ts';
