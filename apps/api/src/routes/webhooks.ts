import type { FastifyRequest } from 'fastify';
import {
  createWebhook,
  deleteWebhook,
  getDelivery,
  getWebhook,
  listDeliveries,
  listWebhooks,
  type Webhook,
  type WebhookDelivery,
} from '@btfwatch/db';
import { WebhookTargetError, generateSecret } from '@btfwatch/webhooks';
import {
  DeliveryPendingError,
  emitEvent,
  redeliver,
  resolveTarget,
  type WebhookDeps,
} from '@btfwatch/outbox';
import { ApiError, notFound } from '../errors.ts';
import type { Handlers, OperationRequest } from './types.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function webhookView(w: Webhook, withSecret = false) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    description: w.description,
    enabled: w.enabled,
    createdAt: w.createdAt.toISOString(),
    ...(withSecret ? { secret: w.secret } : {}),
  };
}

function deliveryView(d: WebhookDelivery) {
  return {
    id: d.id,
    webhookId: d.webhookId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    responsePrefix: d.responsePrefix,
    createdAt: d.createdAt.toISOString(),
    deliveredAt: iso(d.deliveredAt),
    payload: d.payload,
  };
}

function deps(request: FastifyRequest): WebhookDeps {
  const { database, queue, logger, config } = request.server.deps;
  return { db: database.db, queue, logger, now: () => new Date(), allow: config.webhookAllowlist };
}

async function webhookOr404(
  request: OperationRequest<'pingWebhook' | 'listDeliveries' | 'redeliver'>,
): Promise<Webhook> {
  const { id } = request.params;
  const webhook = await getWebhook(request.server.deps.database.db, id);
  if (!webhook) throw notFound(`webhook ${id}`);
  return webhook;
}

export const webhookHandlers = {
  async createWebhook(request, reply) {
    const input = request.body;
    try {
      await resolveTarget(input.url, { allow: request.server.deps.config.webhookAllowlist });
    } catch (err) {
      if (err instanceof WebhookTargetError) throw new ApiError(400, err.code, err.message);
      throw new ApiError(
        400,
        'WEBHOOK_TARGET_UNRESOLVABLE',
        `cannot resolve the webhook host: ${(err as Error).message}`,
      );
    }
    const webhook = await createWebhook(request.server.deps.database.db, {
      url: input.url,
      events: input.events,
      secret: input.secret ?? generateSecret(),
      description: input.description ?? null,
    });
    return reply.code(201).send(webhookView(webhook, true));
  },

  async listWebhooks(request) {
    return { items: (await listWebhooks(request.server.deps.database.db)).map((w) => webhookView(w)) };
  },

  async deleteWebhook(request, reply) {
    const { id } = request.params;
    if (!(await deleteWebhook(request.server.deps.database.db, id))) throw notFound(`webhook ${id}`);
    return reply.code(204).send();
  },

  async pingWebhook(request, reply) {
    const webhook = await webhookOr404(request);
    const [delivery] = await emitEvent(deps(request), 'webhook.ping', { webhookId: webhook.id }, webhook);
    return reply.code(202).send(deliveryView(delivery!));
  },

  async listDeliveries(request) {
    const webhook = await webhookOr404(request);
    const q = request.query;
    return {
      items: (await listDeliveries(request.server.deps.database.db, webhook.id, q)).map(deliveryView),
    };
  },

  async redeliver(request, reply) {
    const webhook = await webhookOr404(request);
    const { deliveryId } = request.params;
    const delivery = await getDelivery(request.server.deps.database.db, deliveryId);
    if (!delivery || delivery.webhookId !== webhook.id) throw notFound(`delivery ${deliveryId}`);
    try {
      return reply.code(202).send(deliveryView(await redeliver(deps(request), delivery)));
    } catch (err) {
      if (err instanceof DeliveryPendingError)
        throw new ApiError(409, err.code, err.message, { nextAttemptAt: iso(delivery.nextAttemptAt) });
      throw err;
    }
  },
} satisfies Handlers;
