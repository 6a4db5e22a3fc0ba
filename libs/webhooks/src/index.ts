export { EVENT_TYPES, envelope } from './events.ts';
export type { EventEnvelope, EventType } from './events.ts';
export { MAX_ATTEMPTS, RETRY_SCHEDULE_MS, nextAttemptAt } from './schedule.ts';
export { generateMessageId, generateSecret, signedHeaders } from './sign.ts';
export { WebhookTargetError, checkTargetAddresses, checkTargetUrl, embeddedIpv4 } from './target-policy.ts';
export type { TargetPolicy } from './target-policy.ts';
export { btfBreakEvent, eventLinks, kernelIngestedEvent, scanFailedEvent } from './payloads.ts';
export type { EventAlert, EventKernel, EventSuiteFailure } from './payloads.ts';
