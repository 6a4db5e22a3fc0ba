import { redirectRefusal } from './redirect-policy.ts';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import {
  MirrorAbortedError,
  MirrorChecksumError,
  MirrorConfigError,
  MirrorError,
  MirrorHttpError,
  MirrorNetworkError,
  MirrorNotFoundError,
  MirrorRedirectRefusedError,
  MirrorSizeError,
  MirrorTimeoutError,
  MirrorTruncatedError,
} from './errors.ts';

export interface DownloaderTimeouts {
  /** TCP/TLS connect; applies only when the downloader creates its own dispatcher. Default 10 s. */
  connectMs?: number;
  /** From sending the request to receiving the whole response head. Default 30 s. */
  headersMs?: number;
  /** Longest silence between two body chunks. Default 30 s. */
  bodyMs?: number;
}

export interface DownloaderRetries {
  /** Retries after the first attempt. Default 4. */
  max?: number;
  /** First backoff; doubles each retry, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap for one backoff, also for an honoured Retry-After. Default 30 s. */
  maxDelayMs?: number;
}

export interface DownloaderOptions {
  /** Requests in flight per host (host:port) across everything this downloader does. Default 4. */
  perHostConcurrency?: number;
  timeouts?: DownloaderTimeouts;
  retries?: DownloaderRetries;
  /** The caller's undici dispatcher (proxy, mocking is not the point: tests use a loopback server). */
  dispatcher?: Dispatcher;
  /** Redirects followed per request. Default 5. */
  maxRedirects?: number;
  /** Directory for temp and finished files when a call names none. Default `<os tmpdir>/btfwatch-mirror`. */
  dir?: string;
  userAgent?: string;
}

export interface ConditionalHeaders {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

export interface FetchMetadataOptions extends ConditionalHeaders {
  /** Largest body accepted into memory. Default 64 MiB. */
  maxBytes?: number;
  signal?: AbortSignal | undefined;
}

export type MetadataResponse =
  | { notModified: true; url: string }
  | {
      notModified: false;
      url: string;
      body: Buffer;
      sha256: string;
      etag: string | undefined;
      lastModified: string | undefined;
    };

export interface ExpectedFile {
  /** Lower-case hex sha256 the body must have. */
  sha256: string;
  /** Exact size when known (from the index); larger bodies are aborted as soon as they exceed it. */
  size?: number | undefined;
}

export interface DownloadOptions {
  /** Where the finished file goes (and its temp before it is verified). */
  dir?: string | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A file whose bytes hashed to the expected sha256. It lives under its final name only after that check;
 * the caller owns it and removes it when done.
 */
export interface DownloadedFile {
  path: string;
  /** Final URL after redirects. */
  url: string;
  sha256: string;
  size: number;
}

export interface DownloaderStats {
  /** HTTP requests sent, every attempt and redirect hop counted. */
  requests: number;
  retries: number;
  bytes: number;
}

export interface Downloader {
  /** GET a small file into memory, conditionally when an ETag or Last-Modified is given. */
  fetchMetadata(url: string, options?: FetchMetadataOptions): Promise<MetadataResponse>;
  /** GET a file to disk, verified against sha256 (and size) while streaming. */
  download(url: string, expect: ExpectedFile, options?: DownloadOptions): Promise<DownloadedFile>;
  /**
   * `download`, while the same bytes also stream into `consume` as they arrive, so reading a package
   * overlaps its transfer. `consume` gets an unverified stream and must keep its results to itself:
   * they are returned only once size and sha256 matched. Each attempt (after a retryable failure) gets a
   * fresh stream. When `consume` fails, the transfer still completes and is verified: a checksum
   * mismatch is reported as such (bad bytes explain the failure; retried as usual), a match passes
   * the consumer's error through unchanged. A consumer may stop reading early; the rest still reaches disk.
   */
  downloadWhileReading<T>(
    url: string,
    expect: ExpectedFile,
    consume: (body: Readable) => Promise<T>,
    options?: DownloadOptions,
  ): Promise<{ file: DownloadedFile; value: T }>;
  readonly stats: Readonly<DownloaderStats>;
  /** Close the dispatcher this downloader created (never the caller's). */
  close(): Promise<void>;
}

const DEFAULTS = {
  perHostConcurrency: 4,
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 30_000,
  retries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRedirects: 5,
  metadataMaxBytes: 64 * 1024 * 1024,
};

export function defaultDownloadDir(): string {
  return join(tmpdir(), 'btfwatch-mirror');
}

export function createDownloader(options: DownloaderOptions = {}): Downloader {
  return new HttpDownloader(options);
}

/** Per-host FIFO semaphore: each host gets at most `limit` requests in flight. */
class HostLimiter {
  readonly #limit: number;
  readonly #hosts = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  async acquire(host: string, signal: AbortSignal | undefined): Promise<() => void> {
    let slot = this.#hosts.get(host);
    if (!slot) {
      slot = { active: 0, waiting: [] };
      this.#hosts.set(host, slot);
    }
    const s = slot;
    if (s.active >= this.#limit) {
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = s.waiting.indexOf(wake);
          if (i >= 0) s.waiting.splice(i, 1);
          reject(
            new MirrorAbortedError('aborted while waiting for a connection slot', { cause: signal?.reason }),
          );
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        s.waiting.push(wake);
      });
    } else {
      s.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = s.waiting.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next) next();
      else if (--s.active === 0) this.#hosts.delete(host);
    };
  }
}

type Attempt<T> = (url: string) => Promise<T>;

class HttpDownloader implements Downloader {
  readonly stats: DownloaderStats = { requests: 0, retries: 0, bytes: 0 };
  readonly #dispatcher: Dispatcher;
  readonly #ownDispatcher: Agent | undefined;
  readonly #limiter: HostLimiter;
  readonly #headersMs: number;
  readonly #bodyMs: number;
  readonly #maxRetries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRedirects: number;
  readonly #dir: string;
  readonly #userAgent: string;

  constructor(options: DownloaderOptions) {
    const t = options.timeouts ?? {};
    const r = options.retries ?? {};
    const limit = options.perHostConcurrency ?? DEFAULTS.perHostConcurrency;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new MirrorConfigError(`perHostConcurrency must be a positive integer, got ${limit}`);
    }
    this.#limiter = new HostLimiter(limit);
    this.#headersMs = t.headersMs ?? DEFAULTS.headersMs;
    this.#bodyMs = t.bodyMs ?? DEFAULTS.bodyMs;
    this.#maxRetries = r.max ?? DEFAULTS.retries;
    this.#baseDelayMs = r.baseDelayMs ?? DEFAULTS.baseDelayMs;
    this.#maxDelayMs = r.maxDelayMs ?? DEFAULTS.maxDelayMs;
    this.#maxRedirects = options.maxRedirects ?? DEFAULTS.maxRedirects;
    this.#dir = options.dir ?? defaultDownloadDir();
    this.#userAgent = options.userAgent ?? 'btfwatch-mirror';
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher;
    } else {
      this.#ownDispatcher = new Agent({
        connect: { timeout: t.connectMs ?? DEFAULTS.connectMs },
        headersTimeout: this.#headersMs,
        bodyTimeout: this.#bodyMs,
      });
      this.#dispatcher = this.#ownDispatcher;
    }
  }

  async close(): Promise<void> {
    await this.#ownDispatcher?.close();
  }

  async fetchMetadata(url: string, options: FetchMetadataOptions = {}): Promise<MetadataResponse> {
    const maxBytes = options.maxBytes ?? DEFAULTS.metadataMaxBytes;
    const headers: Record<string, string> = {};
    if (options.etag) headers['if-none-match'] = options.etag;
    if (options.lastModified) headers['if-modified-since'] = options.lastModified;
    return this.#withRetries(url, options.signal, (current) =>
      this.#get(current, headers, options.signal, async (res, finalUrl) => {
        if (res.statusCode === 304) {
          await res.body.dump();
          return { notModified: true, url: finalUrl } as const;
        }
        const announced = contentLength(res);
        if (announced !== undefined && announced > maxBytes) {
          discard(res.body);
          throw new MirrorSizeError(maxBytes, announced, { url: finalUrl, limit: 'max' });
        }
        const hash = createHash('sha256');
        const chunks: Buffer[] = [];
        let received = 0;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            received += chunk.length;
            this.stats.bytes += chunk.length;
            if (received > maxBytes) {
              throw new MirrorSizeError(maxBytes, received, { url: finalUrl, limit: 'max', atLeast: true });
            }
            hash.update(chunk);
            chunks.push(chunk);
          }
        } catch (err) {
          discard(res.body);
          throw bodyError(err, finalUrl, received, announced);
        }
        if (announced !== undefined && received < announced) {
          throw new MirrorTruncatedError(`body ended after ${received} of ${announced} bytes`, {
            url: finalUrl,
          });
        }
        return {
          notModified: false,
          url: finalUrl,
          body: Buffer.concat(chunks, received),
          sha256: hash.digest('hex'),
          etag: headerValue(res, 'etag'),
          lastModified: headerValue(res, 'last-modified'),
        } as const;
      }),
    );
  }

  async download(url: string, expect: ExpectedFile, options: DownloadOptions = {}): Promise<DownloadedFile> {
    return (await this.#download(url, expect, options, null)).file;
  }

  async downloadWhileReading<T>(
    url: string,
    expect: ExpectedFile,
    consume: (body: Readable) => Promise<T>,
    options: DownloadOptions = {},
  ): Promise<{ file: DownloadedFile; value: T }> {
    const r = await this.#download(url, expect, options, consume);
    return { file: r.file, value: r.value as T };
  }

  async #download(
    url: string,
    expect: ExpectedFile,
    options: DownloadOptions,
    consume: ((body: Readable) => Promise<unknown>) | null,
  ): Promise<{ file: DownloadedFile; value: unknown }> {
    const want = expect.sha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(want)) throw new MirrorConfigError(`not a sha256: ${expect.sha256}`, { url });
    if (expect.size !== undefined && !(Number.isSafeInteger(expect.size) && expect.size >= 0)) {
      throw new MirrorConfigError(`not a size: ${expect.size}`, { url });
    }
    const dir = options.dir ?? this.#dir;
    await mkdir(dir, { recursive: true });
    return this.#withRetries(url, options.signal, (current) =>
      this.#get(current, {}, options.signal, async (res, finalUrl) => {
        if (res.statusCode === 304) {
          await res.body.dump();
          throw new MirrorHttpError(304, { url: finalUrl });
        }
        const announced = contentLength(res);
        // A Content-Length other than the listed size cannot end well: no need to fetch the body first.
        if (expect.size !== undefined && announced !== undefined && announced !== expect.size) {
          discard(res.body);
          throw new MirrorSizeError(expect.size, announced, { url: finalUrl });
        }
        const temp = join(dir, `.${randomUUID()}.partial`);
        const meter = new HashMeter(expect.size, finalUrl);
        const tee = consume ? new Tee(consume) : null;
        // flush: the data reaches the disk before the rename below makes the file visible.
        const sink = createWriteStream(temp, { flags: 'wx', flush: true });
        let done = false;
        try {
          try {
            await (tee ? pipeline(res.body, meter, tee, sink) : pipeline(res.body, meter, sink));
          } catch (err) {
            tee?.abort(err);
            throw bodyError(err, finalUrl, meter.bytes, announced);
          } finally {
            this.stats.bytes += meter.bytes;
          }
          if (announced !== undefined && meter.bytes < announced) {
            throw new MirrorTruncatedError(`body ended after ${meter.bytes} of ${announced} bytes`, {
              url: finalUrl,
            });
          }
          if (expect.size !== undefined && meter.bytes !== expect.size) {
            throw new MirrorSizeError(expect.size, meter.bytes, { url: finalUrl });
          }
          const got = meter.digest();
          if (got !== want) throw new MirrorChecksumError(want, got, { url: finalUrl });
          // Verified: now the consumer's outcome counts, whichever it is.
          const value = tee ? await tee.result() : undefined;
          const path = join(dir, `${want}-${randomUUID().slice(0, 8)}${safeExtension(finalUrl)}`);
          await rename(temp, path);
          done = true;
          return { file: { path, url: finalUrl, sha256: got, size: meter.bytes }, value };
        } finally {
          if (!done) {
            // Whatever the consumer was doing with unverified bytes is abandoned, and waited for.
            await tee?.settle();
            // The sink may still be opening the file; remove it only once it is closed.
            if (!sink.closed) {
              sink.destroy();
              await once(sink, 'close').catch(() => undefined);
            }
            await rm(temp, { force: true });
          }
        }
      }),
    );
  }

  /** One attempt: GET `url`, following redirects, each hop inside its host's concurrency slot. */
  async #get<T>(
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    onResponse: (res: Dispatcher.ResponseData, finalUrl: string) => Promise<T>,
  ): Promise<T> {
    let current = url;
    for (let hop = 0; ; hop++) {
      const parsed = parseHttpUrl(current);
      const release = await this.#limiter.acquire(parsed.host, signal);
      try {
        this.stats.requests++;
        const res = await request(parsed, {
          method: 'GET',
          dispatcher: this.#dispatcher,
          headers: { 'user-agent': this.#userAgent, ...headers },
          headersTimeout: this.#headersMs,
          bodyTimeout: this.#bodyMs,
          signal,
        });
        const status = res.statusCode;
        if (status >= 300 && status < 400 && status !== 304) {
          const location = headerValue(res, 'location');
          await res.body.dump().catch(() => undefined);
          if (!location) throw new MirrorHttpError(status, { url: current });
          if (hop >= this.#maxRedirects) {
            throw new MirrorHttpError(status, { url: current, cause: new Error('too many redirects') });
          }
          const next = new URL(location, current).toString();
          const refusal = redirectRefusal(url, next);
          // Refused for good: retrying would only be redirected again.
          if (refusal) throw new MirrorRedirectRefusedError(`${refusal} (HTTP ${status})`, { url: current });
          current = next;
          continue;
        }
        if (status === 404 || status === 410) {
          await res.body.dump().catch(() => undefined);
          throw new MirrorNotFoundError(status, { url: current });
        }
        if (status >= 400 || status < 200) {
          await res.body.dump().catch(() => undefined);
          throw new MirrorHttpError(status, {
            url: current,
            retryAfterMs: parseRetryAfter(headerValue(res, 'retry-after')),
          });
        }
        return await onResponse(res, current);
      } finally {
        release();
      }
    }
  }

  async #withRetries<T>(url: string, signal: AbortSignal | undefined, attempt: Attempt<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt(url);
      } catch (raw) {
        const err = toMirrorError(raw, url, signal);
        if (n >= this.#maxRetries || !isRetryable(err)) throw err;
        this.stats.retries++;
        try {
          await sleep(this.#backoff(n, err), undefined, { signal });
        } catch (abort) {
          throw new MirrorAbortedError('aborted during retry backoff', { url, cause: abort });
        }
      }
    }
  }

  #backoff(retry: number, err: MirrorError): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** retry);
    // "Equal jitter": at least half the exponential step, so retries keep spreading out.
    const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
    const asked = err instanceof MirrorHttpError ? err.retryAfterMs : undefined;
    return asked === undefined ? jittered : Math.min(this.#maxDelayMs, Math.max(jittered, asked));
  }
}

/** Counts and hashes bytes on their way to disk; fails as soon as the size limit is passed. */
class HashMeter extends Transform {
  bytes = 0;
  readonly #hash = createHash('sha256');
  readonly #limit: number | undefined;
  readonly #url: string;

  constructor(limit: number | undefined, url: string) {
    super();
    this.#limit = limit;
    this.#url = url;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.#limit !== undefined && this.bytes > this.#limit) {
      callback(new MirrorSizeError(this.#limit, this.bytes, { url: this.#url, atLeast: true }));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

/**
 * Passes every chunk on (to disk) and feeds a copy to a consumer's stream, waiting for the slower of
 * the two. Once the consumer settled (done early, or failed), it is fed no more; the disk still gets
 * everything.
 */
class Tee extends Transform {
  readonly #feed = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  readonly #outcome: Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }>;
  #settled = false;

  constructor(consume: (body: Readable) => Promise<unknown>) {
    super();
    // A consumer that stopped listening must not crash the process with the stream's error.
    this.#feed.on('error', () => {});
    this.#outcome = Promise.resolve()
      .then(() => consume(this.#feed))
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      )
      .finally(() => {
        this.#settled = true;
        // Unblock a chunk waiting for the consumer to drain; the rest goes to disk only.
        this.#feed.emit('drain');
      });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#settled || this.#feed.destroyed || this.#feed.write(chunk)) {
      callback(null, chunk);
      return;
    }
    this.#feed.once('drain', () => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#settled && !this.#feed.destroyed) this.#feed.end();
    callback();
  }

  /** The transfer failed: the consumer's stream fails with it. */
  abort(err: unknown): void {
    if (!this.#feed.destroyed) this.#feed.destroy(err instanceof Error ? err : new Error(String(err)));
  }

  /** The consumer's value, or its error rethrown unchanged. */
  async result(): Promise<unknown> {
    const o = await this.#outcome;
    if (!o.ok) throw o.error;
    return o.value;
  }

  /** Ends the consumer's stream (if it still reads) and waits until the consumer settled. */
  async settle(): Promise<void> {
    if (!this.#settled && !this.#feed.destroyed)
      this.#feed.destroy(new MirrorAbortedError('download abandoned'));
    await this.#outcome;
  }
}

function isRetryable(err: MirrorError): boolean {
  if (err instanceof MirrorHttpError) return err.transient;
  return (
    err instanceof MirrorNetworkError ||
    err instanceof MirrorTimeoutError ||
    err instanceof MirrorTruncatedError
  );
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT',
]);

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/** Map undici/node errors to ours by their stable `code`. Anything else (e.g. ENOSPC) passes through. */
function toMirrorError(err: unknown, url: string, signal: AbortSignal | undefined): MirrorError {
  if (err instanceof MirrorError) return err;
  if (signal?.aborted) return new MirrorAbortedError('aborted', { url, cause: err });
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new MirrorTimeoutError('connect', { url, cause: err });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new MirrorTimeoutError('headers', { url, cause: err });
    case 'UND_ERR_BODY_TIMEOUT':
      return new MirrorTimeoutError('body', { url, cause: err });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new MirrorTruncatedError('body shorter than its Content-Length', { url, cause: err });
    case 'UND_ERR_ABORTED':
      return new MirrorAbortedError('aborted', { url, cause: err });
  }
  if (code !== undefined && (NETWORK_CODES.has(code) || code.startsWith('HPE_'))) {
    return new MirrorNetworkError(`network error ${code}`, { url, cause: err });
  }
  throw err;
}

/** A body that failed part-way is "truncated" when we know how much should have come. */
function bodyError(err: unknown, url: string, received: number, announced: number | undefined): unknown {
  if (err instanceof MirrorError) return err;
  const code = errorCode(err);
  if (code === 'UND_ERR_BODY_TIMEOUT') return new MirrorTimeoutError('body', { url, cause: err });
  if (announced !== undefined && received < announced && code !== undefined) {
    return new MirrorTruncatedError(`body ended after ${received} of ${announced} bytes`, {
      url,
      cause: err,
    });
  }
  return err;
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new MirrorConfigError(`not a URL: ${url}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MirrorConfigError(`only http and https are supported: ${url}`, { url });
  }
  return parsed;
}

/**
 * Abandon a response body. undici reports a body destroyed before its end as an 'error' event: unheard,
 * that would be an uncaught exception taking the whole process down.
 */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function headerValue(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function contentLength(res: Dispatcher.ResponseData): number | undefined {
  const v = headerValue(res, 'content-length');
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function safeExtension(url: string): string {
  const ext = extname(new URL(url).pathname);
  return /^\.[A-Za-z0-9]{1,8}$/.test(ext) ? ext : '';
}
