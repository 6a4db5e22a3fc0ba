import { Transform, type Readable, type TransformCallback } from 'node:stream';
import tar from 'tar-stream';
import { PkgCorruptError, PkgError, PkgTruncatedError } from './errors.ts';
import { checkLimit, type Limits } from './limits.ts';
import { normalizeEntryPath } from './paths.ts';
import {
  CallbackError,
  callSync,
  defaultSelect,
  deliverFile,
  type BodyStream,
  type FileDigest,
  type ArchiveEntry,
  type PickOptions,
} from './pick.ts';

export interface TarSummary {
  /** Entries in the archive (pax/GNU extension headers not counted). */
  entries: number;
  /** Size of the uncompressed tar stream. */
  bytes: number;
}

/**
 * Walks an uncompressed tar stream with tar-stream: reports every entry to `onEntry`, hands the
 * selected regular files to `onFile` one at a time, and checks the archive's end: a tar that stops
 * without its two zero blocks was cut, even if it stops between entries.
 */
export async function walkTar(
  input: Readable,
  options: PickOptions,
  limits: Limits,
  what: string,
  digestOf?: (path: string) => FileDigest | null,
): Promise<TarSummary> {
  const tail = new TarTail();
  const extract = tar.extract();
  input.on('error', (err) => tail.destroy(err));
  input.pipe(tail).on('error', (err: Error) => extract.destroy(err));
  tail.pipe(extract as unknown as NodeJS.WritableStream);
  const select = options.select ?? defaultSelect;
  let entries = 0;
  try {
    for await (const body of extract) {
      entries++;
      checkLimit(limits, 'maxEntries', entries, `${what}: entry count`);
      const entry = toEntry(body.header, limits);
      const stream = body as unknown as BodyStream;
      checkLimit(limits, 'maxEntryBytes', entry.size, `${what}: ${entry.path} size`);
      callSync(options.onEntry, entry);
      if (entry.type === 'file' && selectSafe(select, entry.path)) {
        await deliverFile(stream, entry, options, limits, digestOf?.(entry.path) ?? null);
      } else {
        await drain(stream, entry);
      }
    }
  } catch (err) {
    input.destroy();
    tail.destroy();
    extract.destroy();
    throw toTarError(err, what);
  }
  tail.checkEnd(what);
  return { entries, bytes: tail.total };
}

function selectSafe(select: (path: string) => boolean, path: string): boolean {
  try {
    return select(path);
  } catch (err) {
    throw new CallbackError(err);
  }
}

function toEntry(h: tar.Header, limits: Limits): ArchiveEntry {
  const path = normalizeEntryPath(h.name, limits);
  const size = h.size ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw new PkgCorruptError(`${path}: bad size in tar header`);
  let type: ArchiveEntry['type'];
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
      type = 'file';
      break;
    case 'directory':
      type = 'directory';
      break;
    case 'symlink':
      type = 'symlink';
      break;
    case 'link':
      type = 'hardlink';
      break;
    default:
      type = 'other';
  }
  return {
    path,
    type,
    size: type === 'file' ? size : 0,
    mode: (h.mode ?? 0) & 0o7777,
    linkTarget: h.linkname ?? null,
  };
}

export function drain(body: BodyStream, entry: ArchiveEntry): Promise<void> {
  return new Promise<void>((resolve, reject) => {
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
    body.resume();
  });
}

/**
 * tar-stream reports failures as plain Errors; its two end-of-input cases ("Unexpected end of data"
 * from a missing entry tail) are truncation, everything else from it is a corrupt header.
 */
function toTarError(err: unknown, what: string): unknown {
  if (err instanceof PkgError || err instanceof CallbackError) return err;
  if (!(err instanceof Error)) return new PkgCorruptError(`${what}: ${String(err)}`, { cause: err });
  if ((err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new PkgTruncatedError(`${what}: stream closed early`, { cause: err });
  }
  if (err.message === 'Unexpected end of data') {
    return new PkgTruncatedError(`${what}: tar archive ends inside an entry`, { cause: err });
  }
  return new PkgCorruptError(`${what}: ${err.message}`, { cause: err });
}

/** Passes the tar stream through, keeping its size and its last 1024 bytes. */
class TarTail extends Transform {
  total = 0;
  private last: Buffer = Buffer.alloc(0);
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.total += chunk.length;
    this.last =
      chunk.length >= 1024
        ? chunk.subarray(chunk.length - 1024)
        : Buffer.concat([this.last, chunk]).subarray(-1024);
    cb(null, chunk);
  }
  checkEnd(what: string): void {
    const zeros = this.last.length === 1024 && this.last.every((b) => b === 0);
    if (this.total % 512 !== 0 || !zeros) {
      throw new PkgTruncatedError(
        `${what}: tar archive has no end-of-archive marker (cut after ${this.total} bytes)`,
      );
    }
  }
}
