import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { loadOpenapi } from '@btfwatch/api';
import { RELEASES, moduleElf, modulePath, vmlinuxBtf } from '../../support/fixtures.ts';
import { sha256 } from '../../support/hash.ts';
import { authHeader, startTestService, type TestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';
import {
  cachedKernelDebs,
  startScannedService,
  type ScannedService,
} from '../../support/api/scanned-service.ts';

// One scanned service (two real kernel builds and a headers-only one) for the read paths, plus small
// unscanned services where a setting (upload limit, tokens, rate limit) is what is under test.
let s: ScannedService;
before(async () => {
  s = await startScannedService('distributed');
});
after(async () => {
  await s?.close();
});

const OCTET = { 'content-type': 'application/octet-stream' };
const PKG55 = 'linux-image-6.1.0-55-amd64-unsigned';
const PKG56 = 'linux-image-6.1.0-56-amd64-unsigned';

/** A 4xx/5xx answer is the Error schema as JSON, with the expected stable code. */
function assertError(res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.statusCode, status);
  assert.equal(body.error, code, res.body);
  assert.ok(typeof body.message === 'string' && body.message.length > 10, res.body);
  return body;
}

interface Verdict {
  module: { id: number; name: string; package: string };
  btf: string;
  load: string;
  abi: string;
  explanation: string;
  evidence: { kernelLog?: string[]; buildBase?: { sha256?: string; how?: string } | null };
}

test('GET /v1/compat: cursor pagination walks several pages to the same set as one page', async () => {
  const all = (
    await s.svc.app.inject({ url: `/v1/compat?kernel=${s.k56.id}&package=${PKG56}&limit=100` })
  ).json() as { items: Verdict[]; nextCursor: string | null };
  assert.equal(all.items.length, 12);
  assert.equal(all.nextCursor, null);
  const seen: number[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/v1/compat?kernel=${s.k56.id}&package=${PKG56}&limit=5${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await s.svc.app.inject({ url })).json() as { items: Verdict[]; nextCursor: string | null };
    sizes.push(page.items.length);
    seen.push(...page.items.map((v) => v.module.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  assert.deepEqual(sizes, [5, 5, 2]);
  assert.deepEqual(
    seen,
    all.items.map((v) => v.module.id),
  );
  assert.equal(new Set(seen).size, 12);
});

test('GET /v1/kernels: cursor pagination, newest first, ends with a null cursor', async () => {
  const ids: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const url: string = `/v1/kernels?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
    const page = (await s.svc.app.inject({ url })).json() as {
      items: Array<{ id: number }>;
      nextCursor: string | null;
    };
    ids.push(...page.items.map((k) => k.id));
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== null);
  assert.equal(pages, 2);
  assert.deepEqual(
    ids,
    [s.k55.id, s.k56.id, s.k57.id].sort((a, b) => b - a),
  );
  // A cursor past every id is an empty page, not a database error.
  const far = await s.svc.app.inject({ url: '/v1/kernels?cursor=999999999999999' });
  assert.equal(far.statusCode, 200, far.body);
});

test('GET /v1/compat: summary counts the selected module builds over every page, not the whole kernel', async () => {
  const whole = (await s.svc.app.inject({ url: `/v1/compat?kernel=${s.k56.id}&limit=1` })).json() as {
    summary: Record<string, number>;
  };
  // On 56: its own 12 modules (identical) and 55's 12 (evaluated for the alert: rejected).
  assert.deepEqual(whole.summary, { identical: 12, rejected: 12 });
  const one = (
    await s.svc.app.inject({
      url: `/v1/compat?kernel=${s.k56.id}&package=${PKG55}&module=overlay&limit=1`,
    })
  ).json() as { items: Verdict[]; summary: Record<string, number> };
  assert.equal(one.items.length, 1);
  assert.deepEqual(one.summary, { rejected: 1 });
  // Paging and the btf filter narrow the items, not the summary of the selection.
  const filtered = (
    await s.svc.app.inject({
      url: `/v1/compat?kernel=${s.k56.id}&package=${PKG56}&btf=rejected&limit=2`,
    })
  ).json() as { items: Verdict[]; summary: Record<string, number> };
  assert.equal(filtered.items.length, 0);
  assert.deepEqual(filtered.summary, { identical: 12 });
});

test('GET /v1/compat: unknown kernel 404, malformed kernel 400, kernel without BTF 409 — all typed JSON', async () => {
  const unknown = assertError(
    await s.svc.app.inject({ url: `/v1/compat?kernel=${'0'.repeat(64)}` }),
    404,
    'NOT_FOUND',
  );
  assert.match(String(unknown.message), /kernel 0{64} not found/);
  assertError(await s.svc.app.inject({ url: '/v1/compat?kernel=9999999999' }), 404, 'NOT_FOUND');
  const bad = assertError(
    await s.svc.app.inject({ url: '/v1/compat?kernel=not-a-hash' }),
    400,
    'INVALID_REQUEST',
  );
  assert.match(String(bad.message), /kernel/);
  const incomplete = assertError(
    await s.svc.app.inject({ url: `/v1/compat?kernel=${s.k57.id}&package=${PKG56}` }),
    409,
    'KERNEL_INCOMPLETE',
  );
  assert.match(String(incomplete.message), /6\.1\.0-57-amd64 .*no vmlinux BTF/);
  assertError(await s.svc.app.inject({ url: `/v1/kernels/by-btf/${'A'.repeat(63)}` }), 400, 'INVALID_SHA256');
});

test('GET /v1/kernels/{a}/diff/{b}: computes at most `compute` verdicts and says what it did not', async () => {
  // 56's modules on 55 are not evaluated by the scan (55 is older): the diff computes them.
  const url = `/v1/kernels/${s.k56.id}/diff/${s.k55.id}`;
  const first = (await s.svc.app.inject({ url: `${url}?compute=5` })).json() as {
    base: { identical: boolean };
    crcs: { known: boolean };
    modules: Record<string, unknown> & { summary: Array<{ count: number }> };
  };
  assert.equal(first.base.identical, false);
  assert.equal(first.crcs.known, true);
  assert.equal(first.modules.total, 12);
  assert.equal(first.modules.computed, 5);
  assert.equal(first.modules.notComputed, 7);
  assert.equal(first.modules.evaluated, 5);
  assert.equal(
    first.modules.summary.reduce((n, c) => n + c.count, 0),
    5,
  );
  assert.match(String(first.modules.reason), /at most 5 verdicts are computed per request/);

  const stored = (await s.svc.app.inject({ url: `${url}?compute=0` })).json() as {
    modules: Record<string, unknown>;
  };
  assert.deepEqual(
    [stored.modules.computed, stored.modules.notComputed, stored.modules.evaluated],
    [0, 7, 5],
  );

  const rest = (await s.svc.app.inject({ url })).json() as { modules: Record<string, unknown> };
  assert.deepEqual(
    [rest.modules.computed, rest.modules.notComputed, rest.modules.evaluated, rest.modules.reason],
    [7, 0, 12, null],
  );

  const noBtf = (await s.svc.app.inject({ url: `/v1/kernels/${s.k56.id}/diff/${s.k57.id}` })).json() as {
    modules: Record<string, unknown>;
  };
  assert.deepEqual([noBtf.modules.computed, noBtf.modules.notComputed], [0, 12]);
  assert.match(String(noBtf.modules.reason), /no vmlinux BTF/);
  assertError(await s.svc.app.inject({ url: `${url}?compute=5001` }), 400, 'INVALID_REQUEST');
});

test('POST /v1/compat/check: 55-built overlay on 56 is rejected with the kernel log lines and a one-sentence explanation', async () => {
  const res = await s.svc.app.inject({
    method: 'POST',
    url: `/v1/compat/check?kernel=${s.k56.id}&buildBase=${s.k55.id}&name=overlay.ko`,
    headers: OCTET,
    payload: moduleElf(RELEASES.bookworm55, 'overlay.ko'),
  });
  assert.equal(res.statusCode, 200, res.body);
  const v = res.json() as Verdict & { module: { name: string; vermagic: string; size: number } };
  assert.equal(v.module.name, 'overlay');
  assert.match(v.module.vermagic, /^6\.1\.0-55-amd64 /);
  assert.equal(v.btf, 'rejected');
  assert.equal(v.abi, 'compatible');
  assert.equal(v.load, 'loads-without-btf');
  assert.deepEqual(v.evidence.kernelLog!.slice(-4), [
    'BPF:  ',
    'BPF: Invalid name',
    'BPF: ',
    'failed to validate module [overlay] BTF: -22',
  ]);
  assert.equal(v.evidence.buildBase?.sha256, s.k55.baseBtfSha256);
  assert.ok(!v.explanation.includes('\n') && v.explanation.length > 20, v.explanation);

  // The same module compressed as it ships (.ko.xz), on its own kernel: identical.
  const own = await s.svc.app.inject({
    method: 'POST',
    url: `/v1/compat/check?kernel=${s.k55.baseBtfSha256}&buildBase=${s.k55.baseBtfSha256}`,
    headers: OCTET,
    payload: readFileSync(modulePath(RELEASES.bookworm55, 'overlay.ko')),
  });
  assert.equal(own.statusCode, 200, own.body);
  assert.equal((own.json() as Verdict).btf, 'identical');
});

test('POST /v1/compat/check: every bad upload is a typed 4xx', async () => {
  const post = (url: string, payload: Buffer | string, headers: Record<string, string> = OCTET) =>
    s.svc.app.inject({ method: 'POST', url, headers, payload });
  const ko = moduleElf(RELEASES.bookworm55, 'dummy.ko');
  assertError(await post(`/v1/compat/check?kernel=${s.k56.id}`, Buffer.alloc(0)), 400, 'EMPTY_UPLOAD');
  const notElf = assertError(
    await post(`/v1/compat/check?kernel=${s.k56.id}`, Buffer.from('#!/bin/sh\necho not a module\n')),
    400,
    'INVALID_MODULE',
  );
  assert.match(String(notElf.message), /not a kernel module/);
  // Truncated ELF: the magic is right, the rest is not there.
  assertError(await post(`/v1/compat/check?kernel=${s.k56.id}`, ko.subarray(0, 200)), 400, 'INVALID_MODULE');
  assertError(await post(`/v1/compat/check?kernel=${'f'.repeat(64)}`, ko), 404, 'NOT_FOUND');
  assertError(await post('/v1/compat/check?kernel=12ab', ko), 400, 'INVALID_REQUEST');
  assertError(
    await post(`/v1/compat/check?kernel=${s.k56.id}&buildBase=${'g'.repeat(64)}`, ko),
    400,
    'INVALID_REQUEST',
  );
  const base = assertError(
    await post(`/v1/compat/check?kernel=${s.k56.id}&buildBase=${'e'.repeat(64)}`, ko),
    404,
    'NOT_FOUND',
  );
  assert.match(JSON.stringify(base.details), /POST \/v1\/btf/);
  assertError(await post(`/v1/compat/check?kernel=${s.k57.id}`, ko), 409, 'KERNEL_INCOMPLETE');
  assertError(
    await post(`/v1/compat/check?kernel=${s.k56.id}`, 'x', { 'content-type': 'text/xml' }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  );
});

test('POST /v1/compat/check: an upload above BTFWATCH_UPLOAD_LIMIT is 413 naming the limit', async () => {
  const small = await startTestService('distributed', { env: { BTFWATCH_UPLOAD_LIMIT: '65536' } });
  try {
    const res = await small.app.inject({
      method: 'POST',
      url: '/v1/compat/check?kernel=1',
      headers: OCTET,
      payload: moduleElf(RELEASES.bookworm55, 'overlay.ko'),
    });
    const body = assertError(res, 413, 'UPLOAD_TOO_LARGE');
    assert.match(String(body.message), /limit of 65536 bytes \(BTFWATCH_UPLOAD_LIMIT\)/);
    assert.deepEqual(body.details, { limitBytes: 65536 });
    // Within the limit the same kernel reference gets its own answer.
    const fits = await small.app.inject({
      method: 'POST',
      url: '/v1/compat/check?kernel=1',
      headers: OCTET,
      payload: moduleElf(RELEASES.bookworm55, 'dummy.ko'),
    });
    assertError(fits, 404, 'NOT_FOUND');
  } finally {
    await small.close();
  }
});

test('POST /v1/btf: raw BTF, vmlinux and vmlinuz give one content-addressed base that compat/check takes as buildBase', async () => {
  const work = tempDir('btfwatch-btf-');
  try {
    const post = (payload: Buffer) =>
      s.svc.app.inject({ method: 'POST', url: '/v1/btf', headers: OCTET, payload });
    // A kernel no mirror here carries: stored on first upload, known after.
    const trixie = vmlinuxBtf(RELEASES.trixie);
    const created = await post(trixie);
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json() as Record<string, unknown>;
    assert.equal(body.sha256, sha256(trixie));
    assert.equal(body.source, 'raw');
    assert.equal(body.size, trixie.byteLength);
    assert.deepEqual(body.kernels, []);
    assert.ok((body.nrTypes as number) > 100_000);
    const again = await post(trixie);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().sha256, body.sha256);

    // The same .BTF inside a vmlinux ELF (objcopy as the kernel build does).
    writeFileSync(join(work.path, 'btf'), trixie);
    writeFileSync(join(work.path, 'empty'), 'x');
    execFileSync('objcopy', ['-I', 'binary', '-O', 'elf64-x86-64', 'empty', 'empty.o'], { cwd: work.path });
    execFileSync('objcopy', ['--add-section', '.BTF=btf', 'empty.o', 'vmlinux'], { cwd: work.path });
    const elf = await post(readFileSync(join(work.path, 'vmlinux')));
    assert.equal(elf.statusCode, 200, elf.body);
    assert.deepEqual([elf.json().sha256, elf.json().source], [body.sha256, 'vmlinux']);

    // A real Debian vmlinuz (bzImage, xz payload) of a scanned kernel: its base is already known.
    const debs = await cachedKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' });
    execFileSync('dpkg-deb', ['-x', debs.image, join(work.path, 'root')]);
    const vmlinuz = readFileSync(join(work.path, 'root', 'boot', `vmlinuz-${RELEASES.bookworm55}`));
    const z = await post(vmlinuz);
    assert.equal(z.statusCode, 200, z.body);
    assert.deepEqual(z.json(), {
      ...z.json(),
      sha256: s.k55.baseBtfSha256,
      source: 'vmlinuz',
      kernels: [s.k55.id],
    });

    // The uploaded base is a build base: trixie's overlay named as built on it, checked on 56.
    const check = await s.svc.app.inject({
      method: 'POST',
      url: `/v1/compat/check?kernel=${s.k56.id}&buildBase=${String(body.sha256)}`,
      headers: OCTET,
      payload: moduleElf(RELEASES.trixie, 'overlay.ko'),
    });
    assert.equal(check.statusCode, 200, check.body);
    const v = check.json() as Verdict;
    assert.equal(v.evidence.buildBase?.sha256, body.sha256);
    assert.equal(v.btf, 'rejected');
    assert.equal(v.abi, 'incompatible');

    // Not a base: a module (split BTF), garbage, nothing.
    assertError(await post(moduleElf(RELEASES.bookworm55, 'dummy.ko')), 400, 'NOT_BASE_BTF');
    assertError(await post(Buffer.from('plain text, not BTF')), 400, 'INVALID_BASE_BTF');
    const cut = assertError(await post(vmlinuz.subarray(0, 100_000)), 400, 'INVALID_BASE_BTF');
    assert.match(String(cut.message), /vmlinuz/);
    assertError(await post(trixie.subarray(0, 4096)), 400, 'INVALID_BASE_BTF');
    assertError(await post(Buffer.alloc(0)), 400, 'EMPTY_UPLOAD');
  } finally {
    work.remove();
  }
});

test('mirrors: GET by id shows suite state, DELETE removes, then 404', async () => {
  const one = await s.svc.app.inject({ url: `/v1/mirrors/${s.mirrorId}`, headers: authHeader() });
  assert.equal(one.statusCode, 200, one.body);
  const m = one.json() as { suiteStates: Array<{ suite: string; indexSha256: string; signedBy: string }> };
  assert.equal(m.suiteStates.length, 1);
  assert.equal(m.suiteStates[0]!.suite, 'bookworm-security');
  assert.match(m.suiteStates[0]!.indexSha256, /^[0-9a-f]{64}$/);

  const add = await s.svc.app.inject({
    method: 'POST',
    url: '/v1/mirrors',
    headers: authHeader(),
    payload: { kind: 'rpm', url: `${s.mirror.url}/rpm`, insecure: true },
  });
  assert.equal(add.statusCode, 201, add.body);
  const id = (add.json() as { id: number }).id;
  const listed = (await s.svc.app.inject({ url: '/v1/mirrors', headers: authHeader() })).json() as {
    items: Array<{ id: number }>;
  };
  assert.deepEqual(listed.items.map((x) => x.id).sort(), [s.mirrorId, id].sort());
  const del = await s.svc.app.inject({ method: 'DELETE', url: `/v1/mirrors/${id}`, headers: authHeader() });
  assert.equal(del.statusCode, 204);
  assert.equal(del.body, '');
  assertError(await s.svc.app.inject({ url: `/v1/mirrors/${id}`, headers: authHeader() }), 404, 'NOT_FOUND');
  assertError(
    await s.svc.app.inject({ method: 'DELETE', url: `/v1/mirrors/${id}`, headers: authHeader() }),
    404,
    'NOT_FOUND',
  );
  assertError(
    await s.svc.app.inject({ method: 'POST', url: `/v1/mirrors/${id}/scan`, headers: authHeader() }),
    404,
    'NOT_FOUND',
  );
  // Kernels the removed mirror's scan found stay.
  assert.equal(
    ((await s.svc.app.inject({ url: '/v1/kernels' })).json() as { items: unknown[] }).items.length,
    3,
  );
});

interface Operation {
  operationId: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  security: Array<Record<string, unknown>>;
  body?: { payload: string | Buffer; type: string };
}

/** Valid request bodies: validation runs before the security check, so only a valid request reaches it. */
const SAMPLE_BODIES: Record<string, { payload: string | Buffer; type: string }> = {
  createMirror: {
    type: 'application/json',
    payload: JSON.stringify({ kind: 'apt', url: 'http://127.0.0.1:9/debian', suites: ['x'], insecure: true }),
  },
  updateMirror: { type: 'application/json', payload: JSON.stringify({ scanIntervalSeconds: 3600 }) },
  createWebhook: {
    type: 'application/json',
    payload: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['kernel.ingested'] }),
  },
  checkUpload: { type: 'application/octet-stream', payload: Buffer.from('x') },
  uploadBaseBtf: { type: 'application/octet-stream', payload: Buffer.from('x') },
};

/** Every operation in openapi.yaml as a request that passes validation and reaches its security check. */
function operations(): Operation[] {
  const spec = loadOpenapi() as {
    security: Array<Record<string, unknown>>;
    paths: Record<
      string,
      Record<
        string,
        {
          operationId: string;
          security?: Array<Record<string, unknown>>;
          requestBody?: unknown;
          parameters?: Array<{ name?: string; in?: string; required?: boolean }>;
        }
      >
    >;
  };
  return Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => {
      const required = (op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => p.name);
      const url =
        path
          .replace('{deliveryId}', 'msg_abc')
          .replace('{sha256}', 'a'.repeat(64))
          .replace('{id}', path.startsWith('/v1/jobs') ? 'scan-mirror.1.x' : '1')
          .replace(/\{[a-z]+\}/g, '1') +
        (required.length ? `?${required.map((n) => `${n}=1`).join('&')}` : '');
      const body = SAMPLE_BODIES[op.operationId];
      assert.ok(!op.requestBody || body, `add a valid sample body for ${op.operationId} to SAMPLE_BODIES`);
      return {
        operationId: op.operationId,
        method: method.toUpperCase() as Operation['method'],
        url,
        security: op.security ?? spec.security,
        ...(body ? { body } : {}),
      };
    }),
  );
}

function call(svc: TestService, op: Operation, headers: Record<string, string> = {}) {
  return svc.app.inject({
    method: op.method,
    url: op.url,
    headers: { ...headers, ...(op.body ? { 'content-type': op.body.type } : {}) },
    ...(op.body ? { payload: op.body.payload } : {}),
  });
}

test('tokens: with a read token every non-public operation answers a declared 401 without it', async () => {
  const svc = await startTestService('distributed', {
    env: { BTFWATCH_READ_TOKEN: 'reader-token-0123456789' },
  });
  try {
    const ops = operations().filter((o) => o.security.length > 0);
    assert.ok(ops.length >= 20, `${ops.length} operations`);
    for (const op of ops) {
      const res = await call(svc, op);
      assert.equal(res.statusCode, 401, `${op.operationId}: ${res.body}`);
      assertError(res, 401, 'UNAUTHORIZED');
    }
    // Security comes before validation and the body: no validation message, no upload read.
    assertError(await svc.app.inject({ url: '/v1/compat' }), 401, 'UNAUTHORIZED');
    assertError(
      await svc.app.inject({
        method: 'POST',
        url: '/v1/compat/check?kernel=1',
        headers: OCTET,
        payload: Buffer.alloc(svc.config.uploadLimitBytes + 1),
      }),
      401,
      'UNAUTHORIZED',
    );
    // Public operations stay public.
    for (const op of operations().filter((o) => o.security.length === 0)) {
      const res = await call(svc, op);
      assert.equal(res.statusCode, 200, `${op.method} ${op.url}: ${res.body}`);
    }
  } finally {
    await svc.close();
  }
});

test('admin disabled: every admin operation is a declared 403; then the rate limit answers a declared 429', async () => {
  const admin = operations().filter((o) => o.security.some((x) => 'adminToken' in x));
  const limit = admin.length + 2;
  const svc = await startTestService('distributed', {
    env: { BTFWATCH_ADMIN_TOKEN: '', BTFWATCH_RATE_LIMIT: String(limit) },
  });
  try {
    for (const op of admin) {
      const res = await call(svc, op, authHeader());
      assert.equal(res.statusCode, 403, `${op.operationId}: ${res.body}`);
      const body = assertError(res, 403, 'ADMIN_DISABLED');
      assert.match(String(body.message), /BTFWATCH_ADMIN_TOKEN/);
    }
    assert.equal((await svc.app.inject({ url: '/v1/kernels' })).statusCode, 200);
    assert.equal((await svc.app.inject({ url: '/v1/alerts' })).statusCode, 200);
    const limited = await svc.app.inject({ url: '/v1/kernels' });
    const body = assertError(limited, 429, 'RATE_LIMITED');
    assert.match(String(body.message), new RegExp(`rate limit of ${limit} requests per minute`));
    assert.equal((body.details as { limitPerMinute: number }).limitPerMinute, limit);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Probes and scrapes are never limited, with or without a query string.
    for (const url of ['/healthz', '/healthz?x=1', '/readyz', '/metrics'])
      assert.equal((await svc.app.inject({ url })).statusCode, 200, url);
  } finally {
    await svc.close();
  }
});

test('requests with a body of an unsupported type are a declared 415, malformed JSON a declared 400', async () => {
  const xml = { ...authHeader(), 'content-type': 'application/xml' };
  assertError(
    await s.svc.app.inject({
      method: 'POST',
      url: `/v1/mirrors/${s.mirrorId}/scan`,
      headers: xml,
      payload: '<x/>',
    }),
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  );
  assertError(
    await s.svc.app.inject({
      method: 'POST',
      url: '/v1/mirrors',
      headers: { ...authHeader(), 'content-type': 'application/json' },
      payload: '{"kind":',
    }),
    400,
    'FST_ERR_CTP_INVALID_JSON_BODY',
  );
});
