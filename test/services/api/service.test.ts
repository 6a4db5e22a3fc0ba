import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, authHeader, startTestService } from '../../support/service.ts';

for (const mode of MODES) {
  test(`${mode}: health, readiness, metrics, docs`, async () => {
    const svc = await startTestService(mode);
    try {
      const health = await svc.app.inject({ url: '/healthz' });
      assert.equal(health.statusCode, 200);
      assert.equal(health.json().status, 'ok');

      const ready = await svc.app.inject({ url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json().checks, {
        database: { ok: true, kind: mode === 'embedded' ? 'pglite' : 'postgres' },
        queue: { ok: true, kind: mode === 'embedded' ? 'in-process' : 'bullmq' },
      });

      const metrics = await svc.app.inject({ url: '/metrics' });
      assert.equal(metrics.statusCode, 200);
      assert.match(
        metrics.body,
        /btfwatch_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/,
      );
      assert.match(metrics.body, /btfwatch_jobs\{state="waiting"\} 0/);

      const docs = await svc.app.inject({ url: '/docs/json' });
      assert.equal(docs.statusCode, 200);
      assert.ok(docs.json().paths['/readyz'], 'the docs serve openapi.yaml');
    } finally {
      await svc.close();
    }
  });

  test(`${mode}: readiness reports a dead database as 503`, async () => {
    const svc = await startTestService(mode);
    try {
      await svc.database.close();
      const ready = await svc.app.inject({ url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().status, 'unavailable');
      assert.equal(ready.json().checks.database.ok, false);
    } finally {
      svc.database.close = async () => undefined;
      await svc.close();
    }
  });
}

test('admin endpoints: token required, wrong token refused, disabled without a configured token', async () => {
  const svc = await startTestService('embedded');
  const disabled = await startTestService('embedded', { env: { BTFWATCH_ADMIN_TOKEN: '' } });
  try {
    assert.equal((await svc.app.inject({ url: '/v1/jobs' })).statusCode, 401);
    const wrong = await svc.app.inject({ url: '/v1/jobs', headers: authHeader('wrong-token-wrong-token') });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().error, 'UNAUTHORIZED');
    const ok = await svc.app.inject({ url: '/v1/jobs', headers: authHeader() });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json().items, []);
    const off = await disabled.app.inject({ url: '/v1/jobs', headers: authHeader() });
    assert.equal(off.statusCode, 403);
    assert.match(off.json().message, /set BTFWATCH_ADMIN_TOKEN/);
  } finally {
    await svc.close();
    await disabled.close();
  }
});

test('read token gates read endpoints when configured', async () => {
  const svc = await startTestService('embedded', { env: { BTFWATCH_READ_TOKEN: 'reader-token-0123456789' } });
  try {
    assert.equal((await svc.app.inject({ url: '/v1/jobs/scan-mirror.1.x' })).statusCode, 401);
    const ok = await svc.app.inject({
      url: '/v1/jobs/scan-mirror.1.x',
      headers: authHeader('reader-token-0123456789'),
    });
    assert.equal(ok.statusCode, 404);
    assert.equal((await svc.app.inject({ url: '/healthz' })).statusCode, 200);
  } finally {
    await svc.close();
  }
});

test('bad input gets a typed 4xx JSON error', async () => {
  const svc = await startTestService('embedded');
  try {
    const bad = await svc.app.inject({ url: '/v1/jobs/..%2f..%2fetc' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'INVALID_REQUEST');
    const unknown = await svc.app.inject({ url: '/v1/nothing-here' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error, 'NOT_FOUND');
    const limit = await svc.app.inject({ url: '/v1/jobs?limit=100000', headers: authHeader() });
    assert.equal(limit.statusCode, 400);
  } finally {
    await svc.close();
  }
});
