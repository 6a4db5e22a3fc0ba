import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { classifyPath, type FileCompression, type FileKind } from './classify.ts';
import { PkgCorruptError, PkgLimitExceededError, PkgTruncatedError, PkgUsageError } from './errors.ts';
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

/** Minimal shape shared by Node streams and streamx (tar-stream) readables. */
export interface BodyStream {
  on(event: 'data', fn: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  destroy(err?: Error): unknown;
}

/**
 * Hands one file to the consumer and waits until the consumer is done and the file's bytes have
 * all been consumed (read, streamed or skipped), so the archive never runs ahead of the consumer.
 */
export async function deliverFile(
  body: BodyStream,
  entry: ArchiveEntry,
  options: PickOptions,
  limits: Limits,
  digest: FileDigest | null,
): Promise<void> {
  const onFile = options.onFile;
  const ended = watchEnd(body, entry);
  if (!onFile) {
    body.resume();
    await ended;
    return;
  }
  const verify = digest !== null && options.verifyDigests === true;
  const hash = verify ? createHash(digest.algorithm) : null;
  let state: 'open' | 'reading' | 'streaming' | 'closed' = 'open';
  let reading: Promise<Uint8Array> | null = null;
  let hashOff = false;
  let streamed: PassThrough | null = null;
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
      reading = collect(body, entry, ended, hash);
      // The consumer may not await it before failing elsewhere; we await it below either way.
      reading.catch(() => {});
      return reading;
    },
    stream(): Readable {
      if (state !== 'open')
        throw new PkgUsageError(`${entry.path}: stream() after read() or after the callback settled`);
      state = 'streaming';
      streamed = relay(body, ended, hash);
      return streamed;
    },
  };
  try {
    await onFile(file);
  } catch (err) {
    throw new CallbackError(err);
  } finally {
    // Whatever the consumer did, the file is closed to it once its callback settles.
    const delivered = state !== 'open';
    state = 'closed';
    if (!delivered) hashOff = true;
  }
  if (reading) await reading;
  else {
    // A stream the consumer left unfinished is cut off; the rest of the file is skipped.
    const relayed = streamed as PassThrough | null;
    if (relayed && !relayed.writableFinished) relayed.destroy();
    body.resume();
    await ended;
  }
  // Content skipped without being read is not checked: nothing of it was delivered.
  if (hash && digest && !hashOff) {
    const got = hash.digest('hex');
    if (got !== digest.hex.toLowerCase()) {
      throw new PkgCorruptError(
        `${entry.path}: ${digest.algorithm} ${got} does not match the package's ${digest.hex}`,
      );
    }
  }
}

/** Feeds the body into a PassThrough the consumer owns, with backpressure; never stalls the archive once the PassThrough is gone. */
function relay(
  body: BodyStream,
  ended: Promise<void>,
  hash: ReturnType<typeof createHash> | null,
): PassThrough {
  const out = new PassThrough();
  // The failure also rejects the read call; a consumer that stopped listening must not crash on it.
  out.on('error', () => {});
  body.on('data', (chunk) => {
    hash?.update(chunk);
    if (out.destroyed) return;
    if (!out.write(chunk)) {
      body.pause();
      out.once('drain', () => body.resume());
    }
  });
  out.on('close', () => body.resume());
  ended.then(
    () => out.end(),
    (err: unknown) => out.destroy(err as Error),
  );
  return out;
}

/** Resolves when the body ended with all its bytes; rejects when it errors or closes early. */
function watchEnd(body: BodyStream, entry: ArchiveEntry): Promise<void> {
  const p = new Promise<void>((resolve, reject) => {
    let done = false;
    body.on('end', () => {
      done = true;
      resolve();
    });
    body.on('error', (err) => {
      done = true;
      reject(err);
    });
    body.on('close', () => {
      if (!done) reject(new PkgTruncatedError(`${entry.path}: content ended early`));
    });
  });
  p.catch(() => {});
  return p;
}

async function collect(
  body: BodyStream,
  entry: ArchiveEntry,
  ended: Promise<void>,
  hash: ReturnType<typeof createHash> | null,
): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(entry.size);
  let n = 0;
  let overflow = false;
  body.on('data', (chunk) => {
    if (n + chunk.length > out.length) {
      overflow = true;
      return;
    }
    out.set(chunk, n);
    n += chunk.length;
    hash?.update(chunk);
  });
  await ended;
  if (overflow)
    throw new PkgCorruptError(`${entry.path}: more content than the declared ${entry.size} bytes`);
  if (n !== entry.size) throw new PkgTruncatedError(`${entry.path}: ${n} of ${entry.size} bytes`);
  return out;
}
