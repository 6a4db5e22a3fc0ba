import { jobIds } from '@btfwatch/jobs';
import {
  getDelivery,
  getWebhook,
  insertDeliveries,
  subscribers,
  updateDelivery,
  type Database,
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

/** Records one delivery per subscribed webhook and queues its first attempt. */
export async function emitEvent(
  deps: WebhookDeps,
  type: EventType,
  data: Record<string, unknown>,
  only?: Webhook,
): Promise<WebhookDelivery[]> {
  const targets = only ? [only] : await subscribers(deps.db, type);
  if (targets.length === 0) return [];
  const at = deps.now();
  const rows = await insertDeliveries(
    deps.db,
    targets.map((w) => ({
      id: generateMessageId(),
      webhookId: w.id,
      event: type,
      payload: envelope(type, at, data) as unknown as Record<string, unknown>,
      status: 'pending' as const,
      nextAttemptAt: at,
    })),
  );
  for (const d of rows)
    await deps.queue.enqueue(
      'deliver-webhook',
      { deliveryId: d.id, attempt: 1 },
      { jobId: jobIds.deliver(d.id, 1) },
    );
  return rows;
}

/** Puts a finished delivery back in the queue with the same webhook-id, as a fresh run of attempts. */
export async function redeliver(deps: WebhookDeps, delivery: WebhookDelivery): Promise<WebhookDelivery> {
  const updated = await updateDelivery(deps.db, delivery.id, {
    status: 'pending',
    attempts: 0,
    nextAttemptAt: deps.now(),
    lastError: null,
  });
  await deps.queue.enqueue(
    'deliver-webhook',
    { deliveryId: delivery.id, attempt: 1 },
    { jobId: `${jobIds.deliver(delivery.id, 1)}.r${deps.now().getTime()}` },
  );
  return updated!;
}

/**
 * One attempt per job: success (2xx) ends it; anything else schedules the next attempt per RETRY_SCHEDULE_MS
 * as a new delayed job, until the schedule is exhausted and the delivery is marked failed.
 */
export function deliverWebhookProcessor(deps: WebhookDeps): Processor<'deliver-webhook'> {
  return async (job) => {
    const delivery = await getDelivery(deps.db, job.data.deliveryId);
    if (!delivery || delivery.status !== 'pending')
      return { skipped: delivery ? delivery.status : 'unknown delivery' };
    const webhook = await getWebhook(deps.db, delivery.webhookId);
    if (!webhook || !webhook.enabled) {
      await updateDelivery(deps.db, delivery.id, {
        status: 'failed',
        lastError: 'webhook removed or disabled',
        nextAttemptAt: null,
      });
      return { status: 'failed' };
    }
    const attempt = delivery.attempts + 1;
    const at = deps.now();
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
        deps.timeoutMs ?? 10_000,
      );
      statusCode = res.statusCode;
      prefix = res.bodyPrefix;
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (err) {
      if (err instanceof WebhookTargetError) {
        await updateDelivery(deps.db, delivery.id, {
          status: 'failed',
          attempts: attempt,
          lastError: err.message,
          nextAttemptAt: null,
        });
        return { status: 'failed', reason: err.message };
      }
      error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    }
    if (error === null) {
      await updateDelivery(deps.db, delivery.id, {
        status: 'delivered',
        attempts: attempt,
        lastStatusCode: statusCode,
        lastError: null,
        responsePrefix: prefix,
        deliveredAt: at,
        nextAttemptAt: null,
      });
      return { status: 'delivered', attempt };
    }
    const next = attempt < MAX_ATTEMPTS ? nextAttemptAt(attempt + 1, at) : null;
    await updateDelivery(deps.db, delivery.id, {
      status: next ? 'pending' : 'failed',
      attempts: attempt,
      lastStatusCode: statusCode,
      lastError: error,
      responsePrefix: prefix,
      nextAttemptAt: next,
    });
    if (next) {
      await deps.queue.enqueue(
        'deliver-webhook',
        { deliveryId: delivery.id, attempt: attempt + 1 },
        { jobId: jobIds.deliver(delivery.id, attempt + 1), delayMs: next.getTime() - at.getTime() },
      );
    }
    deps.logger.info({ delivery: delivery.id, attempt, error, next }, 'webhook attempt failed');
    return { status: next ? 'retrying' : 'failed', attempt };
  };
}
