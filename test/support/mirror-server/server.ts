import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Files above this size are streamed from disk instead of read whole (when no fault touches them). */
const STREAM_ABOVE = 8 * 1024 * 1024;

/** What to do to matching requests instead of (or on top of) serving the file. */
export type Fault = (
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Reset the TCP connection after `afterBytes` body bytes (default 0: before any response). */
  | { kind: 'reset'; afterBytes?: number }
  /** Announce the full Content-Length, send `bytes`, then close the connection. */
  | { kind: 'truncate'; bytes: number }
  /** Serve bytes of the same length with one byte changed. */
  | { kind: 'corrupt' }
  /** Serve this body instead of the file. */
  | { kind: 'replace'; body: string | Uint8Array }
  /** Wait before sending the head (`headersMs`) and/or stall half-way through the body (`bodyMs`). */
  | { kind: 'delay'; headersMs?: number; bodyMs?: number }
  /** Ignore If-None-Match / If-Modified-Since and send neither ETag nor Last-Modified. */
  | { kind: 'no-conditional' }
  /** Send the body without Content-Length (chunked). */
  | { kind: 'chunked' }
  /**
   * Answer as an HTTP/1.0 server does: no Content-Length, the body ends when the connection closes.
   * With `bytes`, only that many body bytes come before the close: a short body that looks complete.
   */
  | { kind: 'http10'; bytes?: number }
) & {
  /** Apply to this many matching requests, then remove the fault. Default: until cleared. */
  times?: number;
};

export interface RequestRecord {
  method: string;
  /** Path as requested, without query. */
  path: string;
  /** Status sent; 0 when the connection was reset before a head. */
  status: number;
  fault: Fault['kind'] | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  /** Requests in flight (this one included) when it arrived. */
  inFlight: number;
  at: number;
}

interface FaultEntry {
  pattern: RegExp;
  fault: Fault;
  remaining: number;
}

/** Static file server for a mirror tree, with per-path fault injection and a request log. */
export class MirrorServer {
  readonly requests: RequestRecord[] = [];
  maxInFlight = 0;
  readonly #root: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #faults: FaultEntry[] = [];
  #inFlight = 0;

  constructor(root: string) {
    this.#root = root;
    this.#server = createServer((req, res) => {
      void this.#handle(req, res).catch(() => res.destroy());
    });
    this.#server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** `path` is relative to the server root; `*` matches any run of characters. null removes. */
  setFault(path: string, fault: Fault | null): void {
    const pattern = pathPattern(path);
    this.#faults = this.#faults.filter((f) => f.pattern.source !== pattern.source);
    if (fault) this.#faults.push({ pattern, fault, remaining: fault.times ?? Infinity });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  #takeFault(path: string): Fault | undefined {
    const entry = this.#faults.find((f) => f.pattern.test(path));
    if (!entry) return undefined;
    if (--entry.remaining <= 0) this.#faults = this.#faults.filter((f) => f !== entry);
    return entry.fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    res.on('close', () => this.#inFlight--);
    const fault = this.#takeFault(path);
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path,
      status: 0,
      fault: fault?.kind,
      ifNoneMatch: header(req, 'if-none-match'),
      ifModifiedSince: header(req, 'if-modified-since'),
      inFlight: this.#inFlight,
      at: Date.now(),
    };
    this.requests.push(record);
    const send = (status: number, headers: Record<string, string | number>, body?: Uint8Array): void => {
      record.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };

    if (fault?.kind === 'reset' && !fault.afterBytes) {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'status') {
      send(
        fault.status,
        { 'content-type': 'text/plain', ...(fault.headers ?? {}) },
        Buffer.from(`injected ${fault.status}\n`),
      );
      return;
    }
    if (fault?.kind === 'delay' && fault.headersMs) await this.#sleep(fault.headersMs);

    const file = this.#resolve(path);
    let body: Buffer;
    let mtime: Date;
    try {
      if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) throw new Error('no');
      const st = await stat(file);
      if (!st.isFile()) throw new Error('not a file');
      // Whole packages (benches serve 70 MB ones) stream from disk when no fault needs their bytes.
      if (st.size > STREAM_ABOVE && (fault === undefined || fault.kind === 'no-conditional')) {
        await this.#stream(req, res, record, file, st, fault !== undefined);
        return;
      }
      body = await readFile(file);
      mtime = st.mtime;
    } catch {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(404, { 'content-type': 'text/plain' }, Buffer.from('not found\n'));
      return;
    }
    if (fault?.kind === 'replace') body = Buffer.from(fault.body);
    if (fault?.kind === 'corrupt' && body.length > 0) {
      body = Buffer.from(body);
      const i = Math.floor(body.length / 2);
      body[i] = (body[i] ?? 0) ^ 0xff;
    }
    if (fault?.kind === 'http10') {
      // Written on the socket itself: node's server speaks HTTP/1.1 and would add a length or chunking.
      record.status = 200;
      const socket = req.socket;
      socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n');
      if (req.method === 'HEAD') socket.end();
      else socket.end(body.subarray(0, fault.bytes ?? body.length));
      return;
    }
    const conditional = fault?.kind !== 'no-conditional';
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    const lastModified = new Date(Math.floor(mtime.getTime() / 1000) * 1000).toUTCString();
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (conditional) {
      headers['etag'] = etag;
      headers['last-modified'] = lastModified;
      const inm = record.ifNoneMatch;
      const ims = record.ifModifiedSince;
      const notModified =
        inm !== undefined
          ? inm.split(',').some((t) => t.trim() === etag)
          : ims !== undefined &&
            !Number.isNaN(Date.parse(ims)) &&
            Date.parse(ims) >= Date.parse(lastModified);
      if (notModified) {
        send(304, headers);
        return;
      }
    }
    if (fault?.kind !== 'chunked') headers['content-length'] = body.length;
    record.status = 200;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (fault?.kind === 'truncate' || (fault?.kind === 'reset' && fault.afterBytes)) {
      const n = fault.kind === 'truncate' ? fault.bytes : (fault.afterBytes ?? 0);
      res.write(body.subarray(0, Math.min(n, body.length)));
      // Let the bytes leave before cutting the connection.
      await this.#sleep(20);
      if (fault.kind === 'reset') req.socket.resetAndDestroy();
      else req.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay' && fault.bodyMs) {
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      await this.#sleep(fault.bodyMs);
      if (res.destroyed) return;
      res.end(body.subarray(half));
      return;
    }
    res.end(body);
  }

  /** A large file as is: validators from size and mtime (no hashing), conditional GET, streamed body. */
  async #stream(
    req: IncomingMessage,
    res: ServerResponse,
    record: RequestRecord,
    file: string,
    st: Stats,
    noConditional: boolean,
  ): Promise<void> {
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': st.size,
    };
    if (!noConditional) {
      const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
      headers['etag'] = etag;
      headers['last-modified'] = lastModified;
      if (record.ifNoneMatch?.split(',').some((t) => t.trim() === etag)) {
        record.status = 304;
        delete headers['content-length'];
        res.writeHead(304, headers);
        res.end();
        return;
      }
    }
    record.status = 200;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res);
  }

  #resolve(path: string): string | undefined {
    const clean = normalize(path).replace(/^(\.\.(\/|$))+/, '');
    if (clean.split('/').includes('..')) return undefined;
    return join(this.#root, clean);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function pathPattern(path: string): RegExp {
  const p = path.startsWith('/') ? path : `/${path}`;
  const src = p
    .split('*')
    .map((s) => s.replace(/[\\^$.|+?()[\]{}]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${src}$`);
}
