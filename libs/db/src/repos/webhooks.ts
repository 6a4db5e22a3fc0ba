import { and, desc, eq, sql } from 'drizzle-orm';
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
