import { PkgTruncatedError } from './errors.ts';

/** What the readers accept: a Node Readable, a web ReadableStream, any async iterable of bytes, or bytes. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

const EMPTY = new Uint8Array(0);

/**
 * Pull-based reader over a byte stream: exact reads for headers, bounded sub-streams for bodies.
 * Never reads ahead more than the chunk the source handed over.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private ended = false;
  private closed = false;
  /** Bytes consumed so far, for error messages. */
  offset = 0;

  constructor(source: ByteSource) {
    if (source instanceof Uint8Array) {
      this.iterator = [source][Symbol.iterator]();
    } else if (Symbol.asyncIterator in source) {
      this.iterator = source[Symbol.asyncIterator]();
    } else {
      this.iterator = source[Symbol.iterator]();
    }
  }

  /** Makes sure at least one unread byte is buffered; false at end of input. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      const r = await this.iterator.next();
      if (r.done) {
        this.ended = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      const value: unknown = r.value;
      if (!(value instanceof Uint8Array)) {
        throw new TypeError(
          'byte source yielded a non-Uint8Array chunk (was an encoding set on the stream?)',
        );
      }
      this.chunk = value;
      this.pos = 0;
    }
    return true;
  }

  /** True when the input has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** Reads exactly `n` bytes or throws PKG_TRUNCATED naming `what`. */
  async read(n: number, what: string): Promise<Uint8Array> {
    if (n === 0) return EMPTY;
    if (!(await this.fill())) throw this.truncated(what, n, 0);
    const avail = this.chunk.length - this.pos;
    if (avail >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) throw this.truncated(what, n, got);
      const take = Math.min(n - got, this.chunk.length - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + take), got);
      this.pos += take;
      this.offset += take;
      got += take;
    }
    return out;
  }

  /**
   * Up to `max` (> 0) bytes, as many as the current chunk holds: a view, never a copy. Throws
   * PKG_TRUNCATED at the end of input.
   */
  async readSome(max: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) throw this.truncated(what, max, 0);
    const take = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return out;
  }

  /** Discards exactly `n` bytes or throws PKG_TRUNCATED. */
  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw this.truncated(what, n, n - left);
      const take = Math.min(left, this.chunk.length - this.pos);
      this.pos += take;
      this.offset += take;
      left -= take;
    }
  }

  /** Yields exactly `n` bytes as chunks (views into the source's chunks), or throws PKG_TRUNCATED. */
  async *take(n: number, what: string): AsyncGenerator<Uint8Array, void, undefined> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw this.truncated(what, n, n - left);
      const take = Math.min(left, this.chunk.length - this.pos);
      const out = this.chunk.subarray(this.pos, this.pos + take);
      this.pos += take;
      this.offset += take;
      left -= take;
      yield out;
    }
  }

  /** Yields everything left in the input. */
  async *rest(): AsyncGenerator<Uint8Array, void, undefined> {
    while (await this.fill()) {
      const out = this.pos === 0 ? this.chunk : this.chunk.subarray(this.pos);
      this.offset += out.length;
      this.pos = this.chunk.length;
      yield out;
    }
  }

  /** Stops reading and lets the source release its resources (a Node Readable is destroyed). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.chunk = EMPTY;
    if (!this.ended) {
      this.ended = true;
      try {
        await this.iterator.return?.();
      } catch {
        // The source failing while being shut down adds nothing to the error that made us stop.
      }
    }
  }

  private truncated(what: string, wanted: number, got: number): PkgTruncatedError {
    return new PkgTruncatedError(
      `${what}: input ended after ${got} of ${wanted} bytes (at offset ${this.offset})`,
    );
  }
}
