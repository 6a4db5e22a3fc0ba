import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ByteReader } from './byte-reader.ts';
import { classifyPath, type FileCompression, type FileKind } from './classify.ts';
import { PkgCorruptError, PkgLimitExceededError, PkgUsageError } from './errors.ts';
import type { Limits } from './limits.ts';

/** Metadata of every archive entry, as `onEntry` sees it. */
export interface ArchiveEntry {
  /** Absolute installed path, normalised: `/boot/vmlinuz-6.1.0-55-amd64`, `/lib` for `./lib/`. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';
  /** Bytes of content (0 for anything but regular files). */
  size: number;
  /** Permission bits and setuid/setgid/sticky (`mode & 0o7777`). */
  mode: number;
  /** Target of a symlink or hardlink, as stored. */
  linkTarget: string | null;
}

/** An expected content digest for a file, from the package's own metadata. */
export interface FileDigest {
  algorithm: 'md5' | 'sha1' | 'sha256' | 'sha512';
  hex: string;
}

/**
 * A regular file handed to `onFile` while the archive streams by. Call `read()` (whole file, bounded
 * by `limits.maxBufferedBytes`) or `stream()` (any size) at most once, before the callback's promise
 * settles; unread content is skipped. The callback must be done with the stream when it settles.
 */
export interface PickedFile {
  path: string;
  size: number;
  mode: number;
  /** What `classifyPath` made of the path; null for a file picked only by a custom `select`. */
  kind: FileKind | null;
  release: string | null;
  /** How the file itself is compressed (`.ko.xz` → `xz`); decompress with `decompressModule`. */
  compression: FileCompression;
  /** The digest the package declares for this file, when it declares one (rpm file digests). */
  digest: FileDigest | null;
  read(): Promise<Uint8Array>;
  stream(): Readable;
}

/** Chooses the files handed to `onFile`. */
export type SelectFn = (path: string) => boolean;

export type OnFile = (file: PickedFile) => void | Promise<void>;
export type OnEntry = (entry: ArchiveEntry) => void;

/** The part of the read options the payload walkers share. */
export interface PickOptions {
  onFile?: OnFile;
  onEntry?: OnEntry;
  /** Default: files `classifyPath` recognises. */
  select?: SelectFn;
  /**
   * Check delivered content against the digests the package declares (.deb md5sums, rpm file
   * digests); a mismatch is PKG_CORRUPT. Off by default: it costs a hash pass over every file.
   */
  verifyDigests?: boolean;
}

/** Carries an error thrown by a caller's callback through our plumbing, to be rethrown as is. */
export class CallbackError {
  constructor(readonly error: unknown) {}
}

/** Runs a caller's synchronous callback so its failure is told apart from ours. */
export function callSync<A>(fn: ((arg: A) => void) | undefined, arg: A): void {
  if (!fn) return;
  try {
    fn(arg);
  } catch (err) {
    throw new CallbackError(err);
  }
}

export function defaultSelect(path: string): boolean {
  return classifyPath(path) !== null;
}

/**
 * The content of one archive entry, exactly `size` bytes, consumed at most once: whole, in chunks, or
 * skipped. Chunks are views into the archive's own buffers; nothing is copied unless a read spans them.
 */
export interface EntryBody {
  readonly size: number;
  /** Bytes handed out so far. */
  readonly consumed: number;
  /** Everything not consumed yet, as one buffer. */
  readRest(): Promise<Uint8Array>;
  /** The next chunk of at most `max` bytes; null once all `size` bytes were handed out. */
  next(max?: number): Promise<Uint8Array | null>;
  /** Discards what was not consumed. */
  skip(): Promise<void>;
}

/** An entry body read straight from the archive's ByteReader. */
export function readerBody(reader: ByteReader, size: number, what: string): EntryBody {
  let consumed = 0;
  return {
    size,
    get consumed() {
      return consumed;
    },
    async readRest() {
      const bytes = await reader.read(size - consumed, what);
      consumed = size;
      return exclusive(bytes);
    },
    async next(max = 1 << 20) {
      if (consumed >= size) return null;
      const chunk = await reader.readSome(Math.min(max, size - consumed), what);
      consumed += chunk.length;
      return chunk;
    },
    async skip() {
      await reader.skip(size - consumed, what);
      consumed = size;
    },
  };
}

/**
 * A Buffer that owns its whole memory: what `read()` promises, so a consumer may keep, mutate or
 * transfer it (postMessage) without touching the archive's other bytes. A read within one chunk of
 * the stream is a view and is copied; a read across chunks already is a buffer of its own.
 */
function exclusive(bytes: Uint8Array): Buffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength)
    return Buffer.from(bytes.buffer, 0, bytes.byteLength);
  const out = Buffer.allocUnsafeSlow(bytes.byteLength);
  out.set(bytes);
  return out;
}

/**
 * Hands one file to the consumer and waits until the consumer is done and the file's bytes have
 * all been consumed (read, streamed or skipped), so the archive never runs ahead of the consumer.
 */
export async function deliverFile(
  body: EntryBody,
  entry: ArchiveEntry,
  options: PickOptions,
  limits: Limits,
  digest: FileDigest | null,
): Promise<void> {
  const onFile = options.onFile;
  if (!onFile) {
    await body.skip();
    return;
  }
  const verify = digest !== null && options.verifyDigests === true;
  const hash = verify ? createHash(digest.algorithm) : null;
  let state: 'open' | 'reading' | 'streaming' | 'closed' = 'open';
  let reading: Promise<Uint8Array> | null = null;
  let streamed: BodyReadable | null = null;
  const cls = classifyPath(entry.path);
  const file: PickedFile = {
    path: entry.path,
    size: entry.size,
    mode: entry.mode,
    kind: cls?.kind ?? null,
    release: cls?.release ?? null,
    compression: cls?.compression ?? 'none',
    digest,
    read(): Promise<Uint8Array> {
      if (state === 'reading' && reading) return reading;
      if (state !== 'open')
        return Promise.reject(
          new PkgUsageError(`${entry.path}: read() after stream() or after the callback settled`),
        );
      if (entry.size > limits.maxBufferedBytes) {
        return Promise.reject(
          new PkgLimitExceededError(
            'maxBufferedBytes',
            `${entry.path}: ${entry.size} bytes exceeds limits.maxBufferedBytes (${limits.maxBufferedBytes}); use stream()`,
          ),
        );
      }
      state = 'reading';
      reading = body.readRest().then((bytes) => {
        hash?.update(bytes);
        return bytes;
      });
      // The consumer may not await it before failing elsewhere; we await it below either way.
      reading.catch(() => {});
      return reading;
    },
    stream(): Readable {
      if (state !== 'open')
        throw new PkgUsageError(`${entry.path}: stream() after read() or after the callback settled`);
      state = 'streaming';
      streamed = new BodyReadable(body, hash);
      return streamed;
    },
  };
  try {
    await onFile(file);
  } catch (err) {
    throw new CallbackError(err);
  } finally {
    // Whatever the consumer did, the file is closed to it once its callback settles.
    state = 'closed';
  }
  if (reading) await reading;
  else if (streamed) {
    // A stream the consumer left unfinished is cut off; the rest of the file is skipped.
    await (streamed as BodyReadable).close();
  }
  // Content skipped without being read is not checked: not all of it was delivered.
  const complete = body.consumed === body.size;
  await body.skip();
  if (hash && digest && complete) checkDigest(hash, digest, entry);
}

function checkDigest(hash: ReturnType<typeof createHash>, digest: FileDigest, entry: ArchiveEntry): void {
  const got = hash.digest('hex');
  if (got !== digest.hex.toLowerCase()) {
    throw new PkgCorruptError(
      `${entry.path}: ${digest.algorithm} ${got} does not match the package's ${digest.hex}`,
    );
  }
}

/** A consumer's view of an entry body as a Readable, pulling one chunk at a time (backpressure). */
class BodyReadable extends Readable {
  #inflight: Promise<void> | null = null;
  constructor(
    private readonly body: EntryBody,
    private readonly hash: ReturnType<typeof createHash> | null,
  ) {
    super({ highWaterMark: 1 << 20 });
    // The failure also rejects the archive read; a consumer that stopped listening must not crash on it.
    this.on('error', () => {});
  }
  override _read(): void {
    if (this.#inflight) return;
    this.#inflight = this.body.next().then(
      (chunk) => {
        this.#inflight = null;
        if (chunk) this.hash?.update(chunk);
        if (!this.destroyed) this.push(chunk);
      },
      (err: unknown) => {
        this.#inflight = null;
        this.destroy(err as Error);
      },
    );
  }
  /** Stops the consumer's stream; resolves once no read of the archive is in flight for it. */
  async close(): Promise<void> {
    if (!this.destroyed && !this.readableEnded) this.destroy();
    await this.#inflight;
  }
}
