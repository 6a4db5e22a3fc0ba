import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { getDelivery } from '@btfwatch/db';
import { RETRY_SCHEDULE_MS } from '@btfwatch/webhooks';
import { deliverWebhookProcessor, emitEvent, webhookDeps } from '@btfwatch/worker';
import { pino } from 'pino';
import { Receiver, freePort } from '../support/receiver.ts';
import { MODES, authHeader, startTestService } from '../support/service.ts';

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
      for (let i = 0; i < 100 && (await getDelivery(svc.database.db, delivery!.id))!.attempts < 1; i++) {
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
    assert.equal(again.statusCode, 202);
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
