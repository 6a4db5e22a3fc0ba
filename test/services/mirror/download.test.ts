// The downloader against a loopback server with injected faults: retries, typed errors, no partial files.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  createDownloader,
  download,
  MirrorError,
  MirrorTimeoutError,
  type Downloader,
} from '@btfwatch/mirror';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';

const BODY = randomBytes(256 * 1024);
const SHA = createHash('sha256').update(BODY).digest('hex');
// Above the loopback server's streaming threshold and the reader's 4 MiB buffer: backpressure is real.
const BIG = randomBytes(12 * 1024 * 1024);
const BIG_SHA = createHash('sha256').update(BIG).digest('hex');

/** A consumer that hashes what it reads, optionally slowly, optionally failing after `failAfter` bytes. */
function hashing(opts: { delayMs?: number; failAfter?: number; stopAfter?: number } = {}) {
  const calls: number[] = [];
  const consume = async (body: Readable) => {
    const hash = createHash('sha256');
    let n = 0;
    calls.push(0);
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      n += chunk.length;
      calls[calls.length - 1] = n;
      if (opts.failAfter !== undefined && n >= opts.failAfter) throw new Error('consumer gave up');
      if (opts.stopAfter !== undefined && n >= opts.stopAfter) return { n, sha256: null };
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    }
    return { n, sha256: hash.digest('hex') };
  };
  return { consume, calls };
}
const RETRIES = 2;

async function rejectsWith(p: Promise<unknown>, code: string): Promise<MirrorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MirrorError, `expected a MirrorError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('downloader', () => {
  let mirror: MirrorHandle;
  let downloader: Downloader;
  let work: string;
  let dir: string;
  const url = (): string => `${mirror.url}/pool/p.deb`;
  const attempts = (): number => mirror.requests.filter((q) => q.path === '/pool/p.deb').length;
  const leftovers = async (): Promise<string[]> => readdir(dir).catch(() => []);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bw-dl-test-'));
    mirror = await startMirror({
      files: { 'pool/p.deb': BODY, 'pool/big.deb': BIG, 'meta/small.txt': 'hello\n' },
    });
    downloader = createDownloader({
      perHostConcurrency: 2,
      retries: { max: RETRIES, baseDelayMs: 5, maxDelayMs: 20 },
      timeouts: { headersMs: 300, bodyMs: 300 },
    });
  });
  beforeEach(async () => {
    mirror.clearFaults();
    mirror.clearRequests();
    dir = join(work, `d-${Math.random().toString(36).slice(2)}`);
  });
  after(async () => {
    await downloader?.close();
    await mirror?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('a verified file appears under its final name with the right bytes', async () => {
    const f = await downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir });
    assert.equal(f.sha256, SHA);
    assert.equal(f.size, BODY.length);
    assert.ok(f.path.startsWith(dir) && f.path.endsWith('.deb'));
    assert.deepEqual(await readFile(f.path), BODY);
    assert.deepEqual(await leftovers(), [f.path.slice(dir.length + 1)]);
  });

  test('the top-level download() works with its own downloader', async () => {
    const f = await download(url(), { sha256: SHA }, { dir });
    assert.deepEqual(await readFile(f.path), BODY);
  });

  test('503 twice, then success: retried with backoff', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'status', status: 503, times: 2 });
    const before = downloader.stats.retries;
    const f = await downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir });
    assert.deepEqual(await readFile(f.path), BODY);
    assert.equal(attempts(), 3);
    assert.equal(downloader.stats.retries - before, 2);
  });

  test('persistent 500: transient MIRROR_HTTP after every retry', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'status', status: 500 });
    const err = await rejectsWith(downloader.download(url(), { sha256: SHA }, { dir }), 'MIRROR_HTTP');
    assert.equal(err.transient, true);
    assert.equal(attempts(), RETRIES + 1);
  });

  test('404 is MIRROR_NOT_FOUND and 403 is MIRROR_HTTP, both permanent and not retried', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'status', status: 404 });
    const nf = await rejectsWith(downloader.download(url(), { sha256: SHA }, { dir }), 'MIRROR_NOT_FOUND');
    assert.equal(nf.transient, false);
    mirror.setFault('/pool/p.deb', { kind: 'status', status: 403 });
    const forbidden = await rejectsWith(downloader.download(url(), { sha256: SHA }, { dir }), 'MIRROR_HTTP');
    assert.equal(forbidden.transient, false);
    assert.equal(attempts(), 2);
  });

  test('connection resets are retried; persistent ones are MIRROR_NETWORK', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'reset', times: 1 });
    const f = await downloader.download(url(), { sha256: SHA }, { dir });
    assert.deepEqual(await readFile(f.path), BODY);
    assert.equal(attempts(), 2);
    mirror.clearRequests();
    mirror.setFault('/pool/p.deb', { kind: 'reset' });
    const err = await rejectsWith(
      downloader.download(url(), { sha256: SHA }, { dir: join(dir, 'x') }),
      'MIRROR_NETWORK',
    );
    assert.equal(err.transient, true);
    assert.equal(attempts(), RETRIES + 1);
  });

  test('a reset mid-body or a truncated body is MIRROR_TRUNCATED, retried, and leaves nothing behind', async () => {
    for (const fault of [
      { kind: 'truncate', bytes: 1000 },
      { kind: 'reset', afterBytes: 5000 },
    ] as const) {
      mirror.clearRequests();
      mirror.setFault('/pool/p.deb', fault);
      const err = await rejectsWith(
        downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir }),
        'MIRROR_TRUNCATED',
      );
      assert.equal(err.transient, true);
      assert.equal(attempts(), RETRIES + 1);
      assert.deepEqual(await leftovers(), []);
    }
    mirror.setFault('/pool/p.deb', { kind: 'truncate', bytes: 1000, times: 1 });
    const f = await downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir });
    assert.deepEqual(await readFile(f.path), BODY);
  });

  test('wrong content is MIRROR_CHECKSUM, not retried, nothing left behind', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'corrupt' });
    const err = await rejectsWith(
      downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir }),
      'MIRROR_CHECKSUM',
    );
    assert.equal(attempts(), 1);
    assert.equal((err as MirrorError & { expected: string }).expected, SHA);
    assert.deepEqual(await leftovers(), []);
  });

  test('a body larger than the index says is MIRROR_SIZE, also without Content-Length', async () => {
    await rejectsWith(
      downloader.download(url(), { sha256: SHA, size: BODY.length - 1 }, { dir }),
      'MIRROR_SIZE',
    );
    mirror.setFault('/pool/p.deb', { kind: 'chunked' });
    await rejectsWith(downloader.download(url(), { sha256: SHA, size: 1024 }, { dir }), 'MIRROR_SIZE');
    assert.deepEqual(await leftovers(), []);
    // The chunked body itself is fine when the size fits.
    const f = await downloader.download(url(), { sha256: SHA, size: BODY.length }, { dir });
    assert.equal(f.size, BODY.length);
  });

  test('slow head and stalled body hit the timeouts (MIRROR_TIMEOUT), retried first', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'delay', headersMs: 1500 });
    const h = await rejectsWith(downloader.download(url(), { sha256: SHA }, { dir }), 'MIRROR_TIMEOUT');
    assert.equal((h as MirrorTimeoutError).phase, 'headers');
    assert.equal(h.transient, true);
    assert.equal(attempts(), RETRIES + 1);
    mirror.clearRequests();
    mirror.setFault('/pool/p.deb', { kind: 'delay', bodyMs: 1500 });
    const b = await rejectsWith(downloader.download(url(), { sha256: SHA }, { dir }), 'MIRROR_TIMEOUT');
    assert.equal((b as MirrorTimeoutError).phase, 'body');
    assert.deepEqual(await leftovers(), []);
    mirror.setFault('/pool/p.deb', { kind: 'delay', headersMs: 100 });
    const ok = await downloader.download(url(), { sha256: SHA }, { dir });
    assert.equal(ok.size, BODY.length);
  });

  test('per-host concurrency is enforced across calls', async () => {
    // Heads held long enough that the second slot is surely used, even on a busy machine.
    mirror.setFault('/pool/p.deb', { kind: 'delay', headersMs: 400 });
    const patient = createDownloader({ perHostConcurrency: 2, timeouts: { headersMs: 10_000 } });
    try {
      const files = await Promise.all(
        Array.from({ length: 6 }, () => patient.download(url(), { sha256: SHA }, { dir })),
      );
      assert.equal(new Set(files.map((f) => f.path)).size, 6);
      assert.equal(attempts(), 6);
      assert.equal(mirror.maxInFlight, 2);
    } finally {
      await patient.close();
    }
  });

  test('an aborted download is MIRROR_ABORTED and leaves nothing behind', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'delay', bodyMs: 250 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await rejectsWith(
      downloader.download(url(), { sha256: SHA }, { dir, signal: ac.signal }),
      'MIRROR_ABORTED',
    );
    assert.equal(err.transient, false);
    assert.deepEqual(await leftovers(), []);
  });

  test('metadata fetches are conditional: ETag, then Last-Modified', async () => {
    const small = `${mirror.url}/meta/small.txt`;
    const first = await downloader.fetchMetadata(small);
    assert.equal(first.notModified, false);
    assert.ok(!first.notModified && first.etag && first.lastModified);
    if (first.notModified) return;
    assert.equal(first.body.toString(), 'hello\n');
    assert.equal(first.sha256, createHash('sha256').update('hello\n').digest('hex'));
    assert.equal((await downloader.fetchMetadata(small, { etag: first.etag })).notModified, true);
    assert.equal(
      (await downloader.fetchMetadata(small, { lastModified: first.lastModified })).notModified,
      true,
    );
    assert.equal((await downloader.fetchMetadata(small, { etag: '"other"' })).notModified, false);
    await rejectsWith(downloader.fetchMetadata(small, { maxBytes: 3 }), 'MIRROR_SIZE');
  });

  test('downloadWhileReading: the consumer reads the bytes as they arrive, slowly or not; verified file and value', async () => {
    for (const delayMs of [0, 2]) {
      const { consume, calls } = hashing({ delayMs });
      const big = `${mirror.url}/pool/big.deb`;
      const r = await downloader.downloadWhileReading(big, { sha256: BIG_SHA, size: BIG.length }, consume, {
        dir,
      });
      assert.deepEqual(r.value, { n: BIG.length, sha256: BIG_SHA });
      assert.equal(calls.length, 1);
      assert.deepEqual(await readFile(r.file.path), BIG);
      await rm(r.file.path);
    }
    // A consumer that has what it needs early: the rest still reaches the disk and is verified.
    const early = hashing({ stopAfter: 64 * 1024 });
    const r = await downloader.downloadWhileReading(
      url(),
      { sha256: SHA, size: BODY.length },
      early.consume,
      {
        dir,
      },
    );
    assert.equal(r.value.sha256, null);
    assert.deepEqual(await readFile(r.file.path), BODY);
  });

  test('downloadWhileReading: bad bytes are MIRROR_CHECKSUM whatever the consumer made of them; nothing left', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'corrupt' });
    const happy = hashing();
    await rejectsWith(
      downloader.downloadWhileReading(url(), { sha256: SHA, size: BODY.length }, happy.consume, { dir }),
      'MIRROR_CHECKSUM',
    );
    assert.deepEqual(happy.calls, [BODY.length], 'the consumer did read it all');
    const failing = hashing({ failAfter: 1 });
    await rejectsWith(
      downloader.downloadWhileReading(url(), { sha256: SHA, size: BODY.length }, failing.consume, { dir }),
      'MIRROR_CHECKSUM',
    );
    assert.deepEqual(await leftovers(), []);
  });

  test('downloadWhileReading: a consumer error on good bytes passes through unchanged, after the transfer completed', async () => {
    const failing = hashing({ failAfter: 1 });
    await assert.rejects(
      downloader.downloadWhileReading(url(), { sha256: SHA, size: BODY.length }, failing.consume, { dir }),
      (err: unknown) => err instanceof Error && err.message === 'consumer gave up',
    );
    assert.equal(attempts(), 1, 'not retried');
    assert.equal(mirror.requests.at(-1)?.status, 200);
    assert.deepEqual(await leftovers(), []);
  });

  test('downloadWhileReading: a transfer cut mid-way is retried with a fresh stream for the consumer', async () => {
    mirror.setFault('/pool/p.deb', { kind: 'reset', afterBytes: 5000, times: 1 });
    const { consume, calls } = hashing();
    const r = await downloader.downloadWhileReading(url(), { sha256: SHA, size: BODY.length }, consume, {
      dir,
    });
    assert.equal(calls.length, 2, 'one consumer run per attempt');
    assert.ok(calls[0]! < BODY.length);
    assert.deepEqual(r.value, { n: BODY.length, sha256: SHA });
    assert.deepEqual(await leftovers(), [r.file.path.slice(dir.length + 1)]);
  });

  test('bad arguments are MIRROR_CONFIG', async () => {
    await rejectsWith(downloader.download(url(), { sha256: 'nope' }, { dir }), 'MIRROR_CONFIG');
    await rejectsWith(
      downloader.download('ftp://example.invalid/x', { sha256: SHA }, { dir }),
      'MIRROR_CONFIG',
    );
    assert.throws(
      () => createDownloader({ perHostConcurrency: 0 }),
      (e: unknown) => e instanceof MirrorError && e.code === 'MIRROR_CONFIG',
    );
  });
});
