export {
  DEFAULT_TIMEOUT_MS,
  DeliveryPendingError,
  attemptLeaseMs,
  deliveryJobId,
  emitEvent,
  queueDeliveries,
  recordEvent,
  redeliver,
  requeueOverdueDeliveries,
} from './outbox.ts';
export type { WebhookDeps } from './outbox.ts';
export { postPinned, resolveTarget } from './target.ts';
export type { PostResult } from './target.ts';
