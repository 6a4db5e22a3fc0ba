import { redactDeep } from '@btfwatch/config';
import { jobIds, type JobQueue } from '@btfwatch/jobs';
import {
  insertDeliveries,
  overdueDeliveries,
  reopenDelivery,
  subscribers,
  type Database,
  type Executor,
  type Webhook,
  type WebhookDelivery,
} from '@btfwatch/db';
import { envelope, generateMessageId, type EventType } from '@btfwatch/webhooks';

/** What recording, queueing and sending webhook deliveries needs. */
export interface WebhookDeps {
  db: Database;
  queue: JobQueue;
  /** Where attempt failures are logged (pino-compatible). */
  logger: { info(obj: object, msg: string): void };
  now: () => Date;
  allow: string[];
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * While an attempt runs, its delivery's next_attempt_at is pushed this far ahead: it marks the attempt as in
 * flight (no other job may start one) and, should the worker die mid-attempt, it is when the sweeper may
 * pick the delivery up again. Longer than any attempt can take (connect + headers + body timeouts).
 */
export function attemptLeaseMs(timeoutMs = DEFAULT_TIMEOUT_MS): number {
  return 2 * timeoutMs + 30_000;
}

/**
 * The job for attempt `attempt` due at `due`. Every (attempt, due) pair has one id, so whoever queues it —
 * the processor after a failure, the outbox after commit, a redelivery — queues it once.
 */
export function deliveryJobId(deliveryId: string, attempt: number, due: Date): string {
  return `${jobIds.deliver(deliveryId, attempt)}.t${due.getTime()}`;
}

/**
 * Records one pending delivery per subscribed webhook (or only `only`) with `db`, which may be the
 * transaction that also writes what the event is about: the delivery rows are the outbox. Queue them with
 * `queueDeliveries` after the commit; if that never happens, the scheduler's sweeper does it.
 */
export async function recordEvent(
  db: Executor,
  now: Date,
  type: EventType,
  data: Record<string, unknown>,
  only?: Webhook,
): Promise<WebhookDelivery[]> {
  const targets = only ? [only] : await subscribers(db, type);
  if (targets.length === 0) return [];
  return insertDeliveries(
    db,
    targets.map((w) => ({
      id: generateMessageId(),
      webhookId: w.id,
      event: type,
      // Whatever an event quotes (a mirror URL, an error) goes out without credentials.
      payload: redactDeep(envelope(type, now, data)) as unknown as Record<string, unknown>,
      status: 'pending' as const,
      nextAttemptAt: now,
    })),
  );
}

/** Queues the next attempt of each recorded delivery at its due time. */
export async function queueDeliveries(
  deps: Pick<WebhookDeps, 'queue' | 'now'>,
  rows: WebhookDelivery[],
): Promise<void> {
  for (const d of rows) {
    if (d.status !== 'pending' || !d.nextAttemptAt) continue;
    const attempt = d.attempts + 1;
    await deps.queue.enqueue(
      'deliver-webhook',
      { deliveryId: d.id, attempt },
      {
        jobId: deliveryJobId(d.id, attempt, d.nextAttemptAt),
        delayMs: Math.max(0, d.nextAttemptAt.getTime() - deps.now().getTime()),
      },
    );
  }
}

/** Records one delivery per subscribed webhook and queues its first attempt. */
export async function emitEvent(
  deps: WebhookDeps,
  type: EventType,
  data: Record<string, unknown>,
  only?: Webhook,
): Promise<WebhookDelivery[]> {
  const rows = await recordEvent(deps.db, deps.now(), type, data, only);
  await queueDeliveries(deps, rows);
  return rows;
}

export class DeliveryPendingError extends Error {
  override readonly name = 'DeliveryPendingError';
  readonly code = 'DELIVERY_PENDING';
}

/**
 * Sends a finished delivery (delivered or failed) again with the same webhook-id, as a fresh run of
 * attempts. A pending one is refused with DeliveryPendingError: it already has its next attempt queued, and
 * a second run would race the first.
 */
export async function redeliver(deps: WebhookDeps, delivery: WebhookDelivery): Promise<WebhookDelivery> {
  const row = await reopenDelivery(deps.db, delivery.id, deps.now());
  if (!row) {
    const due = delivery.nextAttemptAt ? ` (next attempt due ${delivery.nextAttemptAt.toISOString()})` : '';
    throw new DeliveryPendingError(
      `delivery ${delivery.id} is still pending${due}: it is retried on its schedule; redeliver it once it ` +
        'has been delivered or has failed',
    );
  }
  await queueDeliveries(deps, [row]);
  return row;
}

/**
 * The outbox sweeper: pending deliveries whose attempt is overdue by more than `graceMs` get their job
 * queued (again). Whatever lost the job — a crash between a commit and its enqueue, a worker dying
 * mid-attempt, a job that failed outright — the delivery goes on. The job id is the attempt, its due time
 * and the sweep slot, so schedulers on several workers queue it once per slot, and a job that was only late
 * finds the attempt already made and does nothing.
 */
export async function requeueOverdueDeliveries(
  db: Database,
  queue: JobQueue,
  options: { now: Date; graceMs: number; limit?: number },
): Promise<string[]> {
  const cutoff = new Date(options.now.getTime() - options.graceMs);
  const rows = await overdueDeliveries(db, cutoff, options.limit ?? 500);
  const slot = Math.floor(options.now.getTime() / Math.max(1, options.graceMs));
  const queued: string[] = [];
  for (const d of rows) {
    const attempt = d.attempts + 1;
    queued.push(
      await queue.enqueue(
        'deliver-webhook',
        { deliveryId: d.id, attempt },
        { jobId: `${deliveryJobId(d.id, attempt, d.nextAttemptAt!)}.s${slot}` },
      ),
    );
  }
  return queued;
}
