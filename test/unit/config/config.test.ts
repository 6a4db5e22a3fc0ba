import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '@btfwatch/config';

test('defaults describe the embedded service on loopback', () => {
  const config = loadConfig({}, '/srv/btfwatch');
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.dataDir, '/srv/btfwatch/data');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.adminToken, undefined);
  assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
});

test('production variables are read', () => {
  const config = loadConfig({
    PORT: '9000',
    HOST: '0.0.0.0',
    DATABASE_URL: 'postgres://u@db:5432/btfwatch',
    REDIS_URL: 'redis://redis:6379',
    BTFWATCH_ADMIN_TOKEN: 'a-long-enough-secret',
    BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1, 10.0.0.0/8',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.databaseUrl, 'postgres://u@db:5432/btfwatch');
  assert.equal(config.redisUrl, 'redis://redis:6379');
  assert.equal(config.adminToken, 'a-long-enough-secret');
  assert.deepEqual(config.webhookAllowlist, ['127.0.0.1', '10.0.0.0/8']);
});

for (const [name, value, expected] of [
  ['PORT', 'eighty', /invalid PORT: expected an integer from 0 to 65535, got "eighty"/],
  ['PORT', '70000', /invalid PORT/],
  ['DATABASE_URL', 'mysql://x', /invalid DATABASE_URL: expected a URL \(postgres: or postgresql:\)/],
  ['REDIS_URL', 'not a url', /invalid REDIS_URL/],
  ['BTFWATCH_ADMIN_TOKEN', 'short', /invalid BTFWATCH_ADMIN_TOKEN: expected a token of at least 16/],
  ['LOG_LEVEL', 'loud', /invalid LOG_LEVEL/],
] as const) {
  test(`${name}=${value} is refused with a message naming the variable`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.variable === name && expected.test(err.message),
    );
  });
}
