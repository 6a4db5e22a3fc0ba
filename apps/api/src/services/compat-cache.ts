import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { kernelState, type Executor, type KernelBuild } from '@btfwatch/db';
import { kernelView } from '../views.ts';

/**
 * What GET /v1/compat answers depend on, for one kernel: its row (facts shown in every answer), its
 * verdicts version (bumped with every verdict change) and the module catalog version (a selection by
 * name or package grows when module builds are added). An answer cached under one token is current while
 * the kernel's token is the same.
 */
export interface KernelEntry {
  kernel: KernelBuild;
  /** kernelView(kernel), made once per lookup. */
  view: ReturnType<typeof kernelView>;
  verdictsVersion: number;
  catalogVersion: number;
  factsHash: string;
  token: string;
}

function entryOf(kernel: KernelBuild, catalogVersion: number): KernelEntry {
  const view = kernelView(kernel);
  const factsHash = createHash('sha1').update(JSON.stringify(view)).digest('base64url').slice(0, 16);
  return withVersion(
    { kernel, view, catalogVersion, factsHash, verdictsVersion: 0, token: '' },
    kernel.verdictsVersion,
  );
}

function withVersion(e: KernelEntry, verdictsVersion: number): KernelEntry {
  return {
    ...e,
    verdictsVersion,
    token: `${e.kernel.id}.${verdictsVersion}.${e.catalogVersion}.${e.factsHash}`,
  };
}

/**
 * Kernel lookups, each kept for at most `ttlMs`: a change another process makes (a verdict, a fact, a new
 * module build) shows within that time; one this process makes through `changed` shows at once.
 */
export class KernelLookups {
  private readonly entries = new Map<string, { at: number; entry: KernelEntry }>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity = 1024,
  ) {}

  async get(db: Executor, ref: string): Promise<KernelEntry | undefined> {
    const key = ref.toLowerCase();
    const now = Date.now();
    const held = this.entries.get(key);
    if (held && now - held.at < this.ttlMs) return held.entry;
    const found = await kernelState(db, key);
    // Unknown kernels are not remembered: the next request finds one added meanwhile.
    if (!found) {
      this.entries.delete(key);
      return undefined;
    }
    const entry = entryOf(found.kernel, found.catalogVersion);
    if (this.ttlMs > 0) {
      this.entries.delete(key);
      this.entries.set(key, { at: now, entry });
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    return entry;
  }

  /**
   * The kernel's verdicts changed here (this process stored some): its entries take the new version, so
   * answers cached under the old one are not served again. Returns `entry` at that version.
   */
  changed(entry: KernelEntry, verdictsVersion: number): KernelEntry {
    this.changedById(entry.kernel.id, verdictsVersion);
    return withVersion(entry, verdictsVersion);
  }

  changedById(kernelId: number, verdictsVersion: number): void {
    for (const [key, held] of this.entries)
      if (held.entry.kernel.id === kernelId && held.entry.verdictsVersion < verdictsVersion)
        this.entries.set(key, { at: held.at, entry: withVersion(held.entry, verdictsVersion) });
  }
}

export interface CachedResponse {
  body: Buffer;
  etag: string;
}

/**
 * Serialized answers by request key, each valid under the token it was stored with; least recently used
 * ones leave first once their bytes pass `maxBytes`. 0 disables it.
 */
export class ResponseCache {
  private readonly entries = new Map<string, CachedResponse & { token: string; bytes: number }>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  get(key: string, token: string): CachedResponse | undefined {
    const e = this.entries.get(key);
    if (!e || e.token !== token) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  set(key: string, token: string, body: Buffer): CachedResponse {
    const etag = etagOf(body);
    const bytes = body.byteLength + key.length * 2 + 200;
    // One answer larger than an eighth of the cache would push out many others for one key.
    if (!this.enabled || bytes > this.maxBytes / 8) return { body, etag };
    this.delete(key);
    this.entries.set(key, { body, etag, token, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
    return { body, etag };
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }
}

/** A strong ETag: the body's hash. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks for it). */
export function ifNoneMatch(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true;
  return value.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** GET /v1/compat answers and the kernel lookups that say whether they are current. */
    compatCache: CompatCache;
  }
}

export interface CompatCacheOptions {
  /** Bytes of serialized answers kept in memory; 0 keeps none. */
  responseCacheBytes: number;
  /** How long a kernel lookup is reused: the most a change made by another process takes to show. */
  kernelLookupTtlMs: number;
}

export interface CompatCache {
  kernels: KernelLookups;
  responses: ResponseCache;
  /**
   * Marks the answer this request is about to send as the one for `key` under `token`: once validated and
   * serialized it gets its ETag and is stored, and later requests with the key get it while the token holds.
   */
  remember(request: FastifyRequest, key: string, token: string): void;
}

/** The compat answer cache, with the onSend hook that stores what `remember` marked. */
export const compatCache = fp<CompatCacheOptions>(
  async (app, options) => {
    const marked = new WeakMap<FastifyRequest, { key: string; token: string }>();
    const cache: CompatCache = {
      kernels: new KernelLookups(options.kernelLookupTtlMs),
      responses: new ResponseCache(options.responseCacheBytes),
      remember: (request, key, token) => marked.set(request, { key, token }),
    };
    app.decorate('compatCache', cache);
    app.addHook('onSend', async (request, reply, payload) => {
      const mark = marked.get(request);
      if (!mark || reply.statusCode !== 200 || !Buffer.isBuffer(payload)) return payload;
      const stored = cache.responses.set(mark.key, mark.token, payload);
      void reply.header('etag', stored.etag);
      if (ifNoneMatch(request.headers['if-none-match'], stored.etag)) {
        void reply.code(304);
        return null;
      }
      return stored.body;
    });
  },
  { name: 'compat-cache' },
);
