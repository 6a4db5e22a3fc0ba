import {
  claimDeliveryAttempt,
  finishDeliveryAttempt,
  getWebhook,
  updateDelivery,
  type WebhookDelivery,
} from '@btfwatch/db';
import {
  DEFAULT_TIMEOUT_MS,
  attemptLeaseMs,
  postPinned,
  queueDeliveries,
  resolveTarget,
  type WebhookDeps,
} from '@btfwatch/outbox';
import { MAX_ATTEMPTS, WebhookTargetError, nextAttemptAt, signedHeaders } from '@btfwatch/webhooks';
import type { Processor } from '../queue/types.ts';

/**
 * How far a job may run ahead of its attempt's due time (clock skew between machines). A job earlier than
 * that does nothing; the sweeper queues the attempt again once it is overdue.
 */
const EARLY_TOLERANCE_MS = 1_000;

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
  return claimDeliveryAttempt(
    deps.db,
    deliveryId,
    attempt,
    new Date(now.getTime() + EARLY_TOLERANCE_MS),
    new Date(now.getTime() + attemptLeaseMs(deps.timeoutMs)),
  );
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
    const updated = await finishDeliveryAttempt(deps.db, delivery.id, attempt, {
      status: next ? 'pending' : 'failed',
      lastStatusCode: statusCode,
      lastError: error,
      responsePrefix: prefix,
      nextAttemptAt: next,
    });
    if (updated) await queueDeliveries(deps, [updated]);
    deps.logger.info({ delivery: delivery.id, attempt, error, next }, 'webhook attempt failed');
    return { status: next ? 'retrying' : 'failed', attempt };
  };
}
