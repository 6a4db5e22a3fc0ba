import { jobIds } from '@btfwatch/jobs';
import {
  getWebhook,
  insertDeliveries,
  subscribers,
  updateDelivery,
  webhookDeliveries,
  type Database,
  type Executor,
  type Webhook,
  type WebhookDelivery,
} from '@btfwatch/db';
import {
  MAX_ATTEMPTS,
  WebhookTargetError,
  envelope,
  generateMessageId,
  nextAttemptAt,
  signedHeaders,
  type EventType,
} from '@btfwatch/webhooks';
import { and, asc, eq, inArray, isNull, lte, or } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { JobQueue, Processor } from '../queue/types.ts';
import { postPinned, resolveTarget } from './http-target.ts';

export interface WebhookDeps {
  db: Database;
  queue: JobQueue;
  logger: Logger;
  now: () => Date;
  allow: string[];
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * How far a job may run ahead of its attempt's due time (clock skew between machines). A job earlier than
 * that does nothing; the sweeper queues the attempt again once it is overdue.
 */
const EARLY_TOLERANCE_MS = 1_000;

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
      payload: envelope(type, now, data) as unknown as Record<string, unknown>,
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
  const [row] = await deps.db
    .update(webhookDeliveries)
    .set({ status: 'pending', attempts: 0, nextAttemptAt: deps.now(), lastError: null, deliveredAt: null })
    .where(
      and(eq(webhookDeliveries.id, delivery.id), inArray(webhookDeliveries.status, ['delivered', 'failed'])),
    )
    .returning();
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
 * Takes attempt `attempt` of a delivery for this job, atomically: only if it is pending, exactly
 * `attempt - 1` attempts were made, and it is due. Stale jobs (an attempt already made), duplicates (two jobs
 * for one attempt) and early ones get nothing, so however often a job is queued, each attempt is made once.
 */
async function claimAttempt(
  deps: WebhookDeps,
  deliveryId: string,
  attempt: number,
  now: Date,
): Promise<WebhookDelivery | undefined> {
  const [row] = await deps.db
    .update(webhookDeliveries)
    .set({ attempts: attempt, nextAttemptAt: new Date(now.getTime() + attemptLeaseMs(deps.timeoutMs)) })
    .where(
      and(
        eq(webhookDeliveries.id, deliveryId),
        eq(webhookDeliveries.status, 'pending'),
        eq(webhookDeliveries.attempts, attempt - 1),
        or(
          isNull(webhookDeliveries.nextAttemptAt),
          lte(webhookDeliveries.nextAttemptAt, new Date(now.getTime() + EARLY_TOLERANCE_MS)),
        ),
      ),
    )
    .returning();
  return row;
}

/**
 * One attempt per job: success (2xx) ends it; anything else schedules the next attempt per RETRY_SCHEDULE_MS
 * as a new delayed job, until the schedule is exhausted and the delivery is marked failed.
 */
export function deliverWebhookProcessor(deps: WebhookDeps): Processor<'deliver-webhook'> {
  return async (job) => {
    const at = deps.now();
    const attempt = job.data.attempt;
    const delivery = await claimAttempt(deps, job.data.deliveryId, attempt, at);
    if (!delivery) return { skipped: `attempt ${attempt} is not due, already made or in flight` };
    const webhook = await getWebhook(deps.db, delivery.webhookId);
    if (!webhook || !webhook.enabled) {
      await updateDelivery(deps.db, delivery.id, {
        status: 'failed',
        lastError: 'webhook removed or disabled',
        nextAttemptAt: null,
      });
      return { status: 'failed' };
    }
    const body = JSON.stringify(delivery.payload);
    let statusCode: number | null = null;
    let error: string | null = null;
    let prefix: string | null = null;
    try {
      const target = await resolveTarget(webhook.url, { allow: deps.allow });
      const res = await postPinned(
        target,
        signedHeaders(webhook.secret, delivery.id, at, body),
        body,
        deps.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      );
      statusCode = res.statusCode;
      prefix = res.bodyPrefix;
      if (statusCode < 200 || statusCode >= 300)
        error =
          statusCode >= 300 && statusCode < 400
            ? `HTTP ${statusCode}: redirects are not followed${res.location ? ` (to ${res.location})` : ''}`
            : `HTTP ${statusCode}`;
    } catch (err) {
      if (err instanceof WebhookTargetError) {
        await updateDelivery(deps.db, delivery.id, {
          status: 'failed',
          lastError: err.message,
          nextAttemptAt: null,
        });
        return { status: 'failed', reason: err.message };
      }
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    const finished = deps.now();
    if (error === null) {
      await updateDelivery(deps.db, delivery.id, {
        status: 'delivered',
        lastStatusCode: statusCode,
        lastError: null,
        responsePrefix: prefix,
        deliveredAt: finished,
        nextAttemptAt: null,
      });
      return { status: 'delivered', attempt };
    }
    const next = attempt < MAX_ATTEMPTS ? nextAttemptAt(attempt + 1, finished) : null;
    const [updated] = await deps.db
      .update(webhookDeliveries)
      .set({
        status: next ? 'pending' : 'failed',
        lastStatusCode: statusCode,
        lastError: error,
        responsePrefix: prefix,
        nextAttemptAt: next,
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.attempts, attempt)))
      .returning();
    if (updated) await queueDeliveries(deps, [updated]);
    deps.logger.info({ delivery: delivery.id, attempt, error, next }, 'webhook attempt failed');
    return { status: next ? 'retrying' : 'failed', attempt };
  };
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
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, cutoff)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(options.limit ?? 500);
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
