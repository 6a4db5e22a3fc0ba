import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { getDelivery, getWebhook } from '@btfwatch/db';
import { RETRY_SCHEDULE_MS } from '@btfwatch/webhooks';
import { buildProcessors, deliverWebhookProcessor, webhookDeps } from '@btfwatch/worker';
import { deliveryJobId, emitEvent, recordEvent } from '@btfwatch/outbox';
import { pino } from 'pino';
import { Receiver, freePort } from '../../support/receiver.ts';
import { MODES, authHeader, startTestService, type TestService } from '../../support/service.ts';

for (const mode of MODES) {
  test(`${mode}: receiver down when an alert fires, then up: delivered once, signed, one webhook-id`, async () => {
    const svc = await startTestService(mode);
    const receiver = new Receiver();
    receiver.port = await freePort();
    try {
      const created = await svc.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: authHeader(),
        payload: { url: receiver.url, events: ['alert.btf_break'] },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { id, secret } = created.json() as { id: number; secret: string };

      const deps = { ...webhookDeps({ ...svc, logger: pino({ level: 'silent' }), now: () => new Date() }) };
      const [delivery] = await emitEvent(deps, 'alert.btf_break', { kernel: { id: 7 }, affectedModules: 3 });
      // The first attempt finds nobody listening and schedules the next one 5 s later.
      for (let i = 0; i < 200 && !(await getDelivery(svc.database.db, delivery!.id))!.lastError; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const failed = (await getDelivery(svc.database.db, delivery!.id))!;
      assert.equal(failed.status, 'pending');
      assert.match(failed.lastError ?? '', /ECONNREFUSED|connect/i);

      await receiver.start();
      for (
        let i = 0;
        i < 200 && (await getDelivery(svc.database.db, delivery!.id))!.status !== 'delivered';
        i++
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const done = (await getDelivery(svc.database.db, delivery!.id))!;
      assert.equal(done.status, 'delivered');
      assert.equal(done.attempts, 2);
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0]!;
      assert.equal(got.headers['webhook-id'], delivery!.id);
      const verified = new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as {
        type: string;
        data: unknown;
      };
      assert.equal(verified.type, 'alert.btf_break');
      assert.deepEqual(verified.data, { kernel: { id: 7 }, affectedModules: 3 });
      assert.ok((done.responsePrefix ?? '').length <= 1024, 'only a prefix of the response is kept');

      const listed = await svc.app.inject({ url: `/v1/webhooks/${id}/deliveries`, headers: authHeader() });
      assert.equal(listed.json().items[0].status, 'delivered');
    } finally {
      await receiver.stop();
      await svc.close();
    }
  });
}

test('a 500-returning receiver is retried on the growing schedule, then marked failed', async () => {
  let clock = new Date('2026-11-25T00:00:00Z');
  const svc = await startTestService('embedded', { workers: false, now: () => clock });
  const receiver = new Receiver();
  receiver.status = 500;
  await receiver.start();
  try {
    const created = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: receiver.url, events: ['kernel.ingested'] },
    });
    const deps = webhookDeps({ ...svc, logger: pino({ level: 'silent' }), now: () => clock });
    const process = deliverWebhookProcessor(deps);
    const [delivery] = await emitEvent(deps, 'kernel.ingested', { kernel: { id: 1 } });
    const seen: number[] = [];
    for (let attempt = 1; attempt <= RETRY_SCHEDULE_MS.length; attempt++) {
      const before = clock.getTime();
      await process({
        id: 'j',
        name: 'deliver-webhook',
        data: { deliveryId: delivery!.id, attempt },
        attempt: 1,
        updateProgress: async () => undefined,
      });
      const row = (await getDelivery(svc.database.db, delivery!.id))!;
      assert.equal(row.attempts, attempt);
      assert.equal(row.lastStatusCode, 500);
      if (attempt < RETRY_SCHEDULE_MS.length) {
        assert.equal(row.status, 'pending');
        seen.push(row.nextAttemptAt!.getTime() - before);
        clock = row.nextAttemptAt!;
      } else {
        assert.equal(row.status, 'failed');
        assert.equal(row.nextAttemptAt, null);
      }
    }
    assert.deepEqual(seen, RETRY_SCHEDULE_MS.slice(1));
    assert.ok(seen.reduce((a, b) => a + b, 0) >= 24 * 3_600_000, 'retries span at least 24 hours');
    // Stale or repeated jobs for attempts already made change nothing.
    const stale = await process({
      id: 'j',
      name: 'deliver-webhook',
      data: { deliveryId: delivery!.id, attempt: 2 },
      attempt: 1,
      updateProgress: async () => undefined,
    });
    assert.ok('skipped' in stale);
    assert.equal(receiver.received.length, RETRY_SCHEDULE_MS.length);
    assert.equal(
      new Set(receiver.received.map((r) => r.headers['webhook-id'])).size,
      1,
      'one webhook-id across retries',
    );

    receiver.status = 204;
    const { id } = created.json() as { id: number };
    const again = await svc.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${id}/deliveries/${delivery!.id}/redeliver`,
      headers: authHeader(),
    });
    assert.equal(again.statusCode, 202, again.body);
    assert.equal(again.json().attempts, 0, 'a fresh run of attempts');
    // The API stamps the redelivery with the real time; the worker runs it once that is due.
    clock = new Date(again.json().nextAttemptAt);
    await process({
      id: 'j',
      name: 'deliver-webhook',
      data: { deliveryId: delivery!.id, attempt: 1 },
      attempt: 1,
      updateProgress: async () => undefined,
    });
    assert.equal((await getDelivery(svc.database.db, delivery!.id))!.status, 'delivered');
    assert.equal(receiver.received.at(-1)!.headers['webhook-id'], delivery!.id);
  } finally {
    await receiver.stop();
    await svc.close();
  }
});

test('SSRF: private, loopback and link-local targets are refused unless allowlisted', async () => {
  const svc = await startTestService('embedded', { env: { BTFWATCH_WEBHOOK_ALLOW: '' } });
  try {
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.5/',
      'http://[::1]:8080/',
      'http://localhost:1/',
      // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address: 127.0.0.1 and 169.254.169.254.
      'http://[64:ff9b::7f00:1]/hook',
      'http://[2002:a9fe:a9fe::1]/latest/meta-data',
    ]) {
      const res = await svc.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: authHeader(),
        payload: { url, events: ['scan.failed'] },
      });
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().error, 'WEBHOOK_TARGET_REFUSED', url);
      assert.match(res.json().message, /BTFWATCH_WEBHOOK_ALLOW/);
    }
    const bad = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: 'ftp://example.org/', events: ['scan.failed'] },
    });
    assert.equal(bad.statusCode, 400);
    const unknownEvent = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: 'http://127.0.0.1/', events: ['everything'] },
    });
    assert.equal(unknownEvent.statusCode, 400);
  } finally {
    await svc.close();
  }
});

test('a webhook whose host later resolves to a forbidden address is refused at delivery', async () => {
  const allowed = await startTestService('embedded', { workers: false });
  try {
    const created = await allowed.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: 'http://127.0.0.1:9/x', events: ['scan.failed'] },
    });
    assert.equal(created.statusCode, 201);
    // The allowlist is gone by the time the delivery runs: the check happens again at send time.
    const deps = webhookDeps({
      ...allowed,
      config: { ...allowed.config, webhookAllowlist: [] },
      logger: pino({ level: 'silent' }),
      now: () => new Date(),
    });
    const [delivery] = await emitEvent(deps, 'scan.failed', {});
    await deliverWebhookProcessor(deps)({
      id: 'j',
      name: 'deliver-webhook',
      data: { deliveryId: delivery!.id, attempt: 1 },
      attempt: 1,
      updateProgress: async () => undefined,
    });
    const row = (await getDelivery(allowed.database.db, delivery!.id))!;
    assert.equal(row.status, 'failed');
    assert.match(row.lastError ?? '', /private, loopback or link-local/);
  } finally {
    await allowed.close();
  }
});

test('event payloads go out without credentials: a mirror URL with user:password is stored and sent redacted', async () => {
  const svc = await startTestService('embedded', { workers: false });
  try {
    const created = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: 'http://127.0.0.1:9/x', events: ['scan.failed'] },
    });
    assert.equal(created.statusCode, 201);
    const deps = webhookDeps({ ...svc, logger: pino({ level: 'silent' }), now: () => new Date() });
    const [delivery] = await emitEvent(deps, 'scan.failed', {
      mirror: { id: 1, url: 'http://mirror-user:s3cret-pass@127.0.0.1:9/debian', kind: 'apt' },
      error: {
        code: 'MIRROR_HTTP',
        message: 'GET http://mirror-user:s3cret-pass@127.0.0.1:9/debian/dists/x: 401',
      },
    });
    const row = (await getDelivery(svc.database.db, delivery!.id))!;
    const stored = JSON.stringify(row.payload);
    assert.ok(!stored.includes('s3cret-pass') && !stored.includes('mirror-user'), stored);
    assert.match(stored, /http:\/\/\*\*\*@127\.0\.0\.1:9\/debian/);
  } finally {
    await svc.close();
  }
});

test('stale, duplicate and early jobs make no attempt; redeliver of a pending delivery is refused, not a second chain', async () => {
  let clock = new Date('2026-11-25T00:00:00Z');
  const svc = await startTestService('embedded', { workers: false, now: () => clock });
  const receiver = new Receiver();
  receiver.status = 500;
  await receiver.start();
  try {
    const created = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url: receiver.url, events: ['kernel.ingested'] },
    });
    const { id: webhookId } = created.json() as { id: number };
    const deps = webhookDeps({ ...svc, logger: pino({ level: 'silent' }), now: () => clock });
    const process = deliverWebhookProcessor(deps);
    const run = (attempt: number) =>
      process({
        id: 'j',
        name: 'deliver-webhook',
        data: { deliveryId: delivery!.id, attempt },
        attempt: 1,
        updateProgress: async () => undefined,
      });
    const deliveryJobs = async () =>
      (await svc.queue.list({ names: ['deliver-webhook'], limit: 100 }))
        .filter((j) => j.data.deliveryId === delivery!.id)
        .map((j) => j.id)
        .sort();
    const [delivery] = await emitEvent(deps, 'kernel.ingested', { kernel: { id: 1 } });
    assert.deepEqual(await deliveryJobs(), [deliveryJobId(delivery!.id, 1, clock)]);

    // Two jobs for the same attempt at once (a redelivered BullMQ job, a sweep): one request.
    const both = await Promise.all([run(1), run(1)]);
    assert.equal(receiver.received.length, 1);
    assert.equal(both.filter((r) => 'skipped' in r).length, 1);
    const afterFirst = (await getDelivery(svc.database.db, delivery!.id))!;
    assert.equal(afterFirst.attempts, 1);
    assert.equal(afterFirst.status, 'pending');
    assert.equal(afterFirst.nextAttemptAt!.getTime(), clock.getTime() + RETRY_SCHEDULE_MS[1]!);
    // Its retry is queued once, under the id of (attempt 2, its due time).
    assert.deepEqual(await deliveryJobs(), [
      deliveryJobId(delivery!.id, 1, new Date('2026-11-25T00:00:00Z')),
      deliveryJobId(delivery!.id, 2, afterFirst.nextAttemptAt!),
    ]);

    // A stale job (attempt made), one from the future (attempt 3) and one early (attempt 2 before it is due).
    for (const attempt of [1, 3, 2]) {
      const r = await run(attempt);
      assert.ok('skipped' in r, `attempt ${attempt} job does nothing`);
    }
    assert.equal(receiver.received.length, 1);
    assert.deepEqual(await getDelivery(svc.database.db, delivery!.id), afterFirst);

    // Redeliver while pending: refused with the due time; no job is added.
    const again = await svc.app.inject({
      method: 'POST',
      url: `/v1/webhooks/${webhookId}/deliveries/${delivery!.id}/redeliver`,
      headers: authHeader(),
    });
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().error, 'DELIVERY_PENDING');
    assert.equal(again.json().details.nextAttemptAt, afterFirst.nextAttemptAt!.toISOString());
    assert.equal((await deliveryJobs()).length, 2);

    // When due, attempt 2 happens, once, with the same webhook-id.
    clock = afterFirst.nextAttemptAt!;
    await Promise.all([run(2), run(2)]);
    assert.equal(receiver.received.length, 2);
    assert.equal((await getDelivery(svc.database.db, delivery!.id))!.attempts, 2);
    assert.deepEqual(
      receiver.received.map((r) => r.headers['webhook-id']),
      [delivery!.id, delivery!.id],
    );
  } finally {
    await receiver.stop();
    await svc.close();
  }
});

/** An HTTP server on 127.0.0.1 whose handler the test writes. */
async function server(
  handler: RequestListener,
): Promise<{ url: string; hits: number; close(): Promise<void> }> {
  const state = { hits: 0 };
  const srv = createServer((req, res) => {
    state.hits += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    get hits() {
      return state.hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

describe('deliveries through the queue to real receivers', { timeout: 120_000 }, () => {
  const TIMEOUT_MS = 500;
  let svc: TestService;

  before(async () => {
    svc = await startTestService('embedded', {
      processors: (deps) => ({
        ...buildProcessors(deps),
        'deliver-webhook': deliverWebhookProcessor({ ...webhookDeps(deps), timeoutMs: TIMEOUT_MS }),
      }),
    });
  });
  after(async () => {
    await svc?.close();
  });

  async function subscribe(url: string): Promise<{ id: number; secret: string }> {
    const res = await svc.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: authHeader(),
      payload: { url, events: ['scan.failed'] },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: number; secret: string };
  }

  async function firstOutcome(deliveryId: string) {
    for (let i = 0; i < 300; i++) {
      const row = (await getDelivery(svc.database.db, deliveryId))!;
      if (row.lastError || row.status !== 'pending') return row;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`delivery ${deliveryId} made no attempt`);
  }

  test('ping: a signed webhook.ping reaches the receiver and the delivery is listed as delivered', async () => {
    const receiver = new Receiver();
    receiver.status = 204;
    await receiver.start();
    try {
      const { id, secret } = await subscribe(receiver.url);
      const ping = await svc.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${id}/ping`,
        headers: authHeader(),
      });
      assert.equal(ping.statusCode, 202, ping.body);
      assert.equal(ping.json().event, 'webhook.ping');
      const done = await firstOutcome(ping.json().id);
      assert.equal(done.status, 'delivered', done.lastError ?? '');
      assert.equal(done.lastStatusCode, 204);
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0]!;
      assert.equal(got.headers['webhook-id'], ping.json().id);
      const body = new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as {
        type: string;
        data: { webhookId: number };
      };
      assert.equal(body.type, 'webhook.ping');
      assert.equal(body.data.webhookId, id);
      const listed = await svc.app.inject({ url: `/v1/webhooks/${id}/deliveries`, headers: authHeader() });
      assert.equal(listed.json().items[0].status, 'delivered');
    } finally {
      await receiver.stop();
    }
  });

  test('list shows webhooks without their secrets; delete removes one with its deliveries', async () => {
    const { id, secret } = await subscribe('http://127.0.0.1:9/gone');
    const listed = await svc.app.inject({ url: '/v1/webhooks', headers: authHeader() });
    assert.equal(listed.statusCode, 200);
    const mine = (listed.json().items as Array<Record<string, unknown>>).find((w) => w.id === id);
    assert.deepEqual(mine?.events, ['scan.failed']);
    assert.ok(mine && !('secret' in mine), 'the secret is only in the response that creates it');
    assert.ok(!listed.body.includes(secret));
    assert.equal((await svc.app.inject({ url: '/v1/webhooks' })).statusCode, 401, 'admin only');

    const webhook = (await getWebhook(svc.database.db, id))!;
    const [delivery] = await recordEvent(svc.database.db, new Date(), 'scan.failed', {}, webhook);
    const del = await svc.app.inject({ method: 'DELETE', url: `/v1/webhooks/${id}`, headers: authHeader() });
    assert.equal(del.statusCode, 204);
    assert.equal(await getDelivery(svc.database.db, delivery!.id), undefined, 'its deliveries go with it');
    const again = await svc.app.inject({
      method: 'DELETE',
      url: `/v1/webhooks/${id}`,
      headers: authHeader(),
    });
    assert.equal(again.statusCode, 404);
    const deliveries = await svc.app.inject({ url: `/v1/webhooks/${id}/deliveries`, headers: authHeader() });
    assert.equal(deliveries.statusCode, 404);
  });

  test('a redirect is a failed attempt, not followed', async () => {
    const elsewhere = new Receiver();
    await elsewhere.start();
    const redirecting = await server((_req, res) => {
      res.writeHead(307, { location: elsewhere.url }).end('moved');
    });
    try {
      const { id } = await subscribe(redirecting.url);
      const ping = await svc.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${id}/ping`,
        headers: authHeader(),
      });
      const row = await firstOutcome(ping.json().id);
      assert.equal(row.status, 'pending', 'retried later like any failure');
      assert.equal(row.attempts, 1);
      assert.equal(row.lastStatusCode, 307);
      assert.equal(row.lastError, `HTTP 307: redirects are not followed (to ${elsewhere.url})`);
      assert.equal(row.responsePrefix, 'moved');
      assert.equal(redirecting.hits, 1);
      assert.equal(elsewhere.received.length, 0, 'the redirect target is never contacted');
    } finally {
      await redirecting.close();
      await elsewhere.stop();
    }
  });

  test('a receiver that does not answer in time: the attempt fails at the timeout and is retried later', async () => {
    const silent = await server(() => undefined);
    try {
      const { id } = await subscribe(silent.url);
      const started = Date.now();
      const ping = await svc.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${id}/ping`,
        headers: authHeader(),
      });
      const row = await firstOutcome(ping.json().id);
      const took = Date.now() - started;
      assert.equal(row.status, 'pending');
      assert.equal(row.lastStatusCode, null);
      assert.match(row.lastError ?? '', /timeout/i);
      assert.ok(took >= TIMEOUT_MS, `gave up after ${took} ms, not before the timeout`);
      assert.ok(
        row.nextAttemptAt!.getTime() - Date.now() > 2_000,
        'the next attempt follows the schedule (5 s later)',
      );
      assert.equal(silent.hits, 1);
    } finally {
      await silent.close();
    }
  });

  test('a hostname that resolves to a private address is refused when the delivery is made', async () => {
    const receiver = new Receiver();
    await receiver.start();
    try {
      const url = `http://localhost:${receiver.port}/hook`;
      // Allowed when created (the service allowlists 127.0.0.1); refused at send time by a stricter policy.
      const { id } = await subscribe(url);
      const webhook = (await getWebhook(svc.database.db, id))!;
      const [delivery] = await recordEvent(svc.database.db, new Date(), 'scan.failed', {}, webhook);
      const strict = webhookDeps({
        ...svc,
        config: { ...svc.config, webhookAllowlist: [] },
        logger: pino({ level: 'silent' }),
        now: () => new Date(),
      });
      const result = await deliverWebhookProcessor(strict)({
        id: 'j',
        name: 'deliver-webhook',
        data: { deliveryId: delivery!.id, attempt: 1 },
        attempt: 1,
        updateProgress: async () => undefined,
      });
      assert.equal(result.status, 'failed');
      const row = (await getDelivery(svc.database.db, delivery!.id))!;
      assert.equal(row.status, 'failed', 'a refused target is not retried');
      assert.match(
        row.lastError ?? '',
        /^webhook target localhost resolves to (127\.0\.0\.1|::1), a private, loopback or link-local address; allowlist it with BTFWATCH_WEBHOOK_ALLOW/,
      );
      assert.equal(receiver.received.length, 0);
    } finally {
      await receiver.stop();
    }
  });
});
