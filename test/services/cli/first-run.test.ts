// The README's first run can do its job: `serve` without BTFWATCH_ADMIN_TOKEN in embedded mode keeps an admin token
// in DATA_DIR (readable by its user only), says where, and takes it for admin requests; another start reuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runCliAsync, startCliService } from '../../support/cli.ts';
import { tempDir } from '../../support/services.ts';

test(
  'embedded serve without an admin token: one is made into DATA_DIR, named on stderr, and works',
  { timeout: 180_000 },
  async () => {
    const data = tempDir();
    const env = {
      DATA_DIR: data.path,
      DATABASE_URL: '',
      REDIS_URL: '',
      BTFWATCH_ADMIN_TOKEN: '',
      BTFWATCH_SCAN_INTERVAL: '0',
    };
    try {
      let svc = await startCliService('serve', env);
      const file = join(data.path, 'admin-token');
      let token: string;
      try {
        assert.ok(
          svc.logs.some((l) => l.includes(`admin token in ${file}`)),
          svc.logs.join('\n'),
        );
        assert.equal(statSync(file).mode & 0o777, 0o600, 'readable by its user only');
        token = readFileSync(file, 'utf8').trim();
        assert.ok(token.length >= 16);
        const add = (headers: Record<string, string>) =>
          fetch(`${svc.url}/v1/mirrors`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify({ kind: 'apt', url: 'http://127.0.0.1:9/debian', suites: ['bookworm'] }),
          });
        assert.equal((await add({})).status, 401);
        assert.equal((await add({ authorization: 'Bearer not-the-token-at-all' })).status, 401);
        assert.equal((await add({ authorization: `Bearer ${token}` })).status, 201);
        // The image's HEALTHCHECK: healthy while it answers.
        const port = new URL(svc.url).port;
        assert.equal((await runCliAsync(['healthcheck', 'serve'], { ...env, PORT: port })).status, 0);
      } finally {
        assert.equal(await svc.stop(), 0);
      }
      const down = await runCliAsync(['healthcheck', 'serve'], { ...env, PORT: new URL(svc.url).port });
      assert.equal(down.status, 1);
      assert.match(down.stderr, /^btfwatch healthcheck: /m);
      svc = await startCliService('serve', env);
      try {
        assert.equal(readFileSync(file, 'utf8').trim(), token, 'the same token on the next start');
        const list = await fetch(`${svc.url}/v1/mirrors`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(list.status, 200);
        assert.equal(((await list.json()) as { items: unknown[] }).items.length, 1);
      } finally {
        assert.equal(await svc.stop(), 0);
      }
    } finally {
      data.remove();
    }
  },
);
