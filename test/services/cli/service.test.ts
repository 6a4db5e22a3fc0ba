import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startCliService } from '../../support/cli.ts';
import { REDIS_URL, createTempDatabase, tempDir, uniqueQueuePrefix } from '../../support/services.ts';

test('a bad environment variable exits non-zero with one clear line', () => {
  for (const [name, value] of [
    ['PORT', 'http'],
    ['DATABASE_URL', 'mysql://nope'],
    ['BTFWATCH_ADMIN_TOKEN', 'short'],
  ]) {
    const result = runCli(['serve'], { [name!]: value! });
    assert.equal(result.status, 2, `${name}: exit code`);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line, got ${result.stderr}`);
    assert.match(lines[0]!, new RegExp(`^btfwatch: invalid ${name}: expected `));
  }
});

test('api and worker refuse to run without Postgres and Redis', () => {
  const result = runCli(['worker'], { DATABASE_URL: '', REDIS_URL: '' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /needs DATABASE_URL and REDIS_URL; use `btfwatch serve`/);
});

test('serve on embedded defaults answers /healthz and /readyz, and stops cleanly on SIGTERM', async () => {
  const dir = tempDir();
  const svc = await startCliService('serve', { DATA_DIR: dir.path, DATABASE_URL: '', REDIS_URL: '' });
  try {
    const health = await fetch(`${svc.url}/healthz`);
    assert.equal(health.status, 200);
    const ready = (await (await fetch(`${svc.url}/readyz`)).json()) as {
      checks: { database: { kind: string } };
    };
    assert.equal(ready.checks.database.kind, 'pglite');
  } finally {
    assert.equal(await svc.stop(), 0);
    dir.remove();
  }
});

test('api + worker processes run against shared Postgres and Redis', async () => {
  const db = await createTempDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: REDIS_URL,
    BTFWATCH_QUEUE_PREFIX: uniqueQueuePrefix(),
    BTFWATCH_ADMIN_TOKEN: 'cli-test-admin-token-1234',
  };
  const api = await startCliService('api', env);
  const worker = await startCliService('worker', env);
  try {
    const ready = (await (await fetch(`${api.url}/readyz`)).json()) as { status: string; checks: unknown };
    assert.deepEqual(ready, {
      status: 'ready',
      checks: { database: { ok: true, kind: 'postgres' }, queue: { ok: true, kind: 'bullmq' } },
    });
  } finally {
    assert.equal(await worker.stop(), 0);
    assert.equal(await api.stop(), 0);
    await db.drop();
  }
});
