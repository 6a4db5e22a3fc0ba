// Issue 14 replayed against the real service, in both modes (embedded PGlite + in-process jobs, and
// Postgres + Redis): malformed parameters, wrong media types, oversized JSON, decompression bombs in every
// format, parallel bombs beyond the upload cap, slow bodies, and a mirror URL with credentials that must
// never surface in a response or a log line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type AddressInfo } from 'node:net';
import { resourceUsage } from 'node:process';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { BOMB_FORMATS, bomb, type BombFormat } from '../../support/bombs.ts';
import { RELEASES } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { MODES, authHeader, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const MiB = 1024 * 1024;
const EXPANDED_LIMIT = 32 * MiB;
/** The budget for the whole hostile suite: peak RSS at most this far above where it started. */
const RSS_BUDGET = 256 * MiB;
const SECRET = 's3cret-mirror-pw';

function assertError(res: LightMyRequestResponse, status: number, code?: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, `${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.statusCode, status);
  assert.equal(typeof body.error, 'string');
  if (code) assert.equal(body.error, code, res.body);
  assert.ok(typeof body.message === 'string' && body.message.length > 10, res.body);
  return body;
}

const MALFORMED_QUERIES = [
  ...['distro', 'suite', 'release', 'version', 'arch', 'flavour'].map((p) => `/v1/kernels?${p}=a%00b`),
  '/v1/compat?kernel=1&module=%00',
  '/v1/compat?kernel=1&package=x%00',
  '/v1/compat?kernel=1&version=%00',
  '/v1/compat?kernel=1&moduleBuild=99999999999999999999',
  '/v1/compat?kernel=99999999999999999999',
  '/v1/alerts?kernel=99999999999',
  '/v1/alerts?since=2016-12-31T23:59:60Z',
  '/v1/alerts?since=0000-01-01T00:00:00Z',
  '/v1/alerts?since=2026-02-30T00:00:00Z',
  '/v1/matrix?distro=%00',
  '/v1/matrix?suite=%00&arch=%00',
  '/v1/matrix?flavour=x%00',
  '/v1/coverage?distro=%00',
  '/v1/coverage?suite=%00',
  '/v1/jobs/%00',
  '/v1/kernels/99999999999',
  '/v1/kernels/by-btf/%00',
];

for (const mode of MODES) {
  describe(`hostile input (${mode})`, { concurrency: false }, () => {
    let svc: TestService;
    let logs = '';
    let startRss = 0;
    const bodies: string[] = [];
    const inject = async (opts: InjectOptions) => {
      const res = await svc.app.inject(opts);
      bodies.push(res.body);
      return res;
    };
    before(async () => {
      svc = await startTestService(mode, {
        env: {
          LOG_LEVEL: 'info',
          BTFWATCH_UPLOAD_EXPANDED_LIMIT: String(EXPANDED_LIMIT),
          BTFWATCH_UPLOAD_CONCURRENCY: '1',
          BTFWATCH_REQUEST_TIMEOUT_MS: '1500',
        },
        logStream: { write: (line: string) => (logs += line) },
      });
      startRss = resourceUsage().maxRSS * 1024;
    });
    after(async () => {
      await svc?.close();
    });

    test('every malformed parameter is a 4xx with the error shape, never a 500', async () => {
      for (const url of MALFORMED_QUERIES) {
        const res = await inject({ url });
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode} ${res.body}`);
        assertError(res, res.statusCode);
      }
      assertError(await inject({ url: '/v1/kernels?distro=a%00b' }), 400, 'INVALID_REQUEST');
      assertError(await inject({ url: '/v1/alerts?since=2016-12-31T23:59:60Z' }), 400, 'INVALID_REQUEST');
      assertError(await inject({ url: '/v1/alerts?kernel=99999999999' }), 400, 'INVALID_REQUEST');
    });

    test('a JSON string with a NUL byte is a 400 naming the field', async () => {
      const res = await inject({
        method: 'POST',
        url: '/v1/mirrors',
        headers: { ...authHeader(), 'content-type': 'application/json' },
        payload: JSON.stringify({ kind: 'apt', url: 'http://127.0.0.1:9/debian', suites: ['a\u0000b'] }),
      });
      const body = assertError(res, 400, 'INVALID_REQUEST');
      assert.match(String(body.message), /body\.suites\[0\]/);
    });

    test('a body in a media type the operation does not take is a 415, read or not', async () => {
      for (const type of ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
        const res = await inject({
          method: 'POST',
          url: '/v1/mirrors',
          headers: { ...authHeader(), 'content-type': type },
          payload: 'kind=apt',
        });
        assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
      const json = await inject({
        method: 'POST',
        url: '/v1/btf',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'x'.repeat(2 * MiB) }),
      });
      assertError(json, 415, 'UNSUPPORTED_MEDIA_TYPE');
    });

    test('JSON bodies past BTFWATCH_JSON_LIMIT are a 413 naming that limit', async () => {
      const res = await inject({
        method: 'POST',
        url: '/v1/mirrors',
        headers: { ...authHeader(), 'content-type': 'application/json' },
        payload: JSON.stringify({ kind: 'apt', url: 'http://127.0.0.1:9/debian', pad: 'x'.repeat(2 * MiB) }),
      });
      const body = assertError(res, 413, 'UPLOAD_TOO_LARGE');
      assert.match(String(body.message), /BTFWATCH_JSON_LIMIT/);
    });

    for (const format of Object.keys(BOMB_FORMATS) as BombFormat[]) {
      test(`a ${format} bomb (1 GiB of zeros) as base BTF is a 413 at the expanded limit`, async () => {
        const before = resourceUsage().maxRSS * 1024;
        const res = await inject({
          method: 'POST',
          url: '/v1/btf',
          headers: { 'content-type': 'application/octet-stream' },
          payload: bomb(format, 1024),
        });
        const body = assertError(res, 413, 'UPLOAD_TOO_LARGE');
        assert.match(String(body.message), /BTFWATCH_UPLOAD_EXPANDED_LIMIT/);
        const grew = resourceUsage().maxRSS * 1024 - before;
        assert.ok(grew < 4 * EXPANDED_LIMIT, `peak RSS grew by ${(grew / MiB).toFixed(0)} MiB`);
      });
    }

    test('bombs beyond BTFWATCH_UPLOAD_CONCURRENCY are refused at once with 429 and Retry-After', async () => {
      const payload = bomb('zstd', 1024);
      const answers = await Promise.all(
        Array.from({ length: 6 }, () =>
          inject({
            method: 'POST',
            url: '/v1/btf',
            headers: { 'content-type': 'application/octet-stream' },
            payload,
          }),
        ),
      );
      const busy = answers.filter((r) => r.statusCode === 429);
      assert.ok(busy.length >= 1, answers.map((r) => r.statusCode).join(','));
      for (const r of busy) {
        assertError(r, 429, 'UPLOADS_BUSY');
        assert.equal(r.headers['retry-after'], '1');
      }
      for (const r of answers.filter((r) => r.statusCode !== 429)) assertError(r, 413, 'UPLOAD_TOO_LARGE');
      // The slot is given back: the next upload is read again.
      assertError(
        await inject({
          method: 'POST',
          url: '/v1/btf',
          headers: { 'content-type': 'application/octet-stream' },
          payload,
        }),
        413,
      );
    });

    test('the hostile suite stays within the memory budget', () => {
      const grew = resourceUsage().maxRSS * 1024 - startRss;
      assert.ok(grew <= RSS_BUDGET, `peak RSS grew by ${(grew / MiB).toFixed(0)} MiB over the suite`);
    });

    test('a slow body is cut off after BTFWATCH_REQUEST_TIMEOUT_MS', async () => {
      await svc.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = svc.app.server.address() as AddressInfo;
      const started = Date.now();
      const closedAfter = await new Promise<number>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.on('connect', () => {
          socket.write(
            'POST /v1/btf HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n',
          );
          const drip = setInterval(() => socket.write('x'), 200);
          socket.on('close', () => {
            clearInterval(drip);
            resolve(Date.now() - started);
          });
        });
        socket.on('error', () => {});
        setTimeout(() => {
          socket.destroy();
          reject(new Error('the slow request was still open after 20 s'));
        }, 20_000).unref();
      });
      assert.ok(closedAfter >= 1000 && closedAfter < 10_000, `closed after ${closedAfter} ms`);
    });

    describe('a mirror URL with credentials', () => {
      let mirror: MirrorHandle;
      before(async () => {
        const work = tempDir();
        const build = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }, work.path);
        mirror = await startMirror({ apt: { suites: { 'bookworm-security': { packages: [build.image] } } } });
        work.remove();
      });
      after(async () => {
        await mirror?.close();
      });

      test(
        'never shows its password in jobs, mirrors, errors, metrics or logs',
        { timeout: 240_000 },
        async () => {
          const url = mirror.aptUrl.replace('http://', `http://btfw:${SECRET}@`);
          const created = await inject({
            method: 'POST',
            url: '/v1/mirrors',
            headers: authHeader(),
            payload: { kind: 'apt', url, suites: ['bookworm-security', 'no-such-suite'], insecure: true },
          });
          assert.equal(created.statusCode, 201, created.body);
          const id = (created.json() as { id: number }).id;
          const scan = await inject({ method: 'POST', url: `/v1/mirrors/${id}/scan`, headers: authHeader() });
          assert.equal(scan.statusCode, 202, scan.body);
          await svc.drain(200_000);
          const jobs = await inject({ url: '/v1/jobs?limit=500', headers: authHeader() });
          assert.equal(jobs.statusCode, 200, jobs.body);
          const items = (jobs.json() as { items: Array<{ id: string; name: string; data: unknown }> }).items;
          assert.ok(items.length >= 2, jobs.body);
          const ingest = items.find((j) => j.name === 'ingest-package');
          assert.ok(ingest, `an ingest job: ${jobs.body.slice(0, 500)}`);
          assert.match(JSON.stringify(ingest.data), /\*\*\*@127\.0\.0\.1/);
          for (const j of items) await inject({ url: `/v1/jobs/${encodeURIComponent(j.id)}` });
          await inject({ url: '/v1/mirrors', headers: authHeader() });
          await inject({ url: `/v1/mirrors/${id}`, headers: authHeader() });
          await inject({ url: '/v1/kernels' });
          await inject({ url: '/metrics' });
          const leaks = bodies.filter((b) => b.includes(SECRET));
          assert.deepEqual(
            leaks.map((b) => b.slice(0, 200)),
            [],
          );
          assert.ok(logs.length > 1000, 'the service logged');
          const leakedLines = logs.split('\n').filter((l) => l.includes(SECRET));
          assert.deepEqual(leakedLines, []);
        },
      );
    });
  });
}
