import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { webhookDeliveries, webhooks, type Webhook, type WebhookDelivery } from '../schema/index.ts';

export async function createWebhook(db: Executor, values: typeof webhooks.$inferInsert): Promise<Webhook> {
  const [row] = await db.insert(webhooks).values(values).returning();
  return row!;
}

export async function listWebhooks(db: Executor): Promise<Webhook[]> {
  return db.select().from(webhooks).orderBy(webhooks.id);
}

export async function getWebhook(db: Executor, id: number): Promise<Webhook | undefined> {
  const [row] = await db.select().from(webhooks).where(eq(webhooks.id, id));
  return row;
}

export async function deleteWebhook(db: Executor, id: number): Promise<boolean> {
  return (await db.delete(webhooks).where(eq(webhooks.id, id)).returning({ id: webhooks.id })).length > 0;
}

/** Enabled webhooks subscribed to `event`. */
export async function subscribers(db: Executor, event: string): Promise<Webhook[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.enabled, true), sql`${webhooks.events} @> ${JSON.stringify([event])}::jsonb`));
}

export async function insertDeliveries(db: Executor, rows: Array<typeof webhookDeliveries.$inferInsert>) {
  if (rows.length === 0) return [];
  return db.insert(webhookDeliveries).values(rows).onConflictDoNothing().returning();
}

export async function getDelivery(db: Executor, id: string): Promise<WebhookDelivery | undefined> {
  const [row] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id));
  return row;
}

export async function listDeliveries(
  db: Executor,
  webhookId: number,
  f: { status?: WebhookDelivery['status'] | undefined; limit: number },
): Promise<WebhookDelivery[]> {
  const c = [eq(webhookDeliveries.webhookId, webhookId)];
  if (f.status) c.push(eq(webhookDeliveries.status, f.status));
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(...c))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(f.limit);
}

export async function updateDelivery(
  db: Executor,
  id: string,
  set: Partial<Omit<WebhookDelivery, 'id' | 'webhookId' | 'event' | 'payload' | 'createdAt'>>,
): Promise<WebhookDelivery | undefined> {
  const [row] = await db.update(webhookDeliveries).set(set).where(eq(webhookDeliveries.id, id)).returning();
  return row;
}

/**
 * A finished delivery (delivered or failed) made pending again as a fresh run of attempts, due `now`;
 * undefined when it is not finished (a pending one already has its next attempt queued).
 */
export async function reopenDelivery(
  db: Executor,
  id: string,
  now: Date,
): Promise<WebhookDelivery | undefined> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: 'pending', attempts: 0, nextAttemptAt: now, lastError: null, deliveredAt: null })
    .where(and(eq(webhookDeliveries.id, id), inArray(webhookDeliveries.status, ['delivered', 'failed'])))
    .returning();
  return row;
}

/**
 * Takes attempt `attempt` of a delivery, atomically: only if it is pending, exactly `attempt - 1` attempts
 * were made, and it is due by `dueBy`; its next_attempt_at moves to `leaseUntil` (the attempt is in flight).
 */
export async function claimDeliveryAttempt(
  db: Executor,
  id: string,
  attempt: number,
  dueBy: Date,
  leaseUntil: Date,
): Promise<WebhookDelivery | undefined> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ attempts: attempt, nextAttemptAt: leaseUntil })
    .where(
      and(
        eq(webhookDeliveries.id, id),
        eq(webhookDeliveries.status, 'pending'),
        eq(webhookDeliveries.attempts, attempt - 1),
        or(isNull(webhookDeliveries.nextAttemptAt), lte(webhookDeliveries.nextAttemptAt, dueBy)),
      ),
    )
    .returning();
  return row;
}

/** Records how attempt `attempt` ended, unless another attempt has been made since. */
export async function finishDeliveryAttempt(
  db: Executor,
  id: string,
  attempt: number,
  set: Pick<WebhookDelivery, 'status' | 'lastStatusCode' | 'lastError' | 'responsePrefix' | 'nextAttemptAt'>,
): Promise<WebhookDelivery | undefined> {
  const [row] = await db
    .update(webhookDeliveries)
    .set(set)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.attempts, attempt)))
    .returning();
  return row;
}

/** Pending deliveries whose next attempt was due before `cutoff`, oldest first. */
export async function overdueDeliveries(
  db: Executor,
  cutoff: Date,
  limit: number,
): Promise<WebhookDelivery[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, cutoff)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
}
