import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { PkgError, PkgLimitExceededError, decompressStream, detectCompression } from '@btfwatch/pkg';
import type { DownloadedFile, Downloader } from './downloader.ts';
import {
  MirrorAbortedError,
  MirrorConfigError,
  MirrorError,
  MirrorIndexTooLargeError,
  MirrorIndexUnavailableError,
  MirrorParseError,
  type IndexAttempt,
} from './errors.ts';
import type { ScanDeps } from './scan-common.ts';

/**
 * Index files are hashed against signed metadata before they are opened, but a signed file can still
 * be a decompression bomb. Generous: Debian's largest Contents and Fedora's filelists.xml stay far below.
 */
export const DEFAULT_MAX_INDEX_BYTES = 4 * 1024 ** 3;

/** One listed variant of an index (a compression of it), with the URLs it may be had from, best first. */
export interface IndexSource {
  urls: readonly string[];
  sha256: string;
  size: number | undefined;
  /** For messages and parse errors: the index as listed, as a URL. */
  label: string;
}

const DEFAULT_ROUNDS = 3;
const DEFAULT_DELAY_MS = 2000;

/**
 * Fetch an index by the first variant whose bytes match what the signed metadata lists, parse it from the
 * verified file, and remove the file. A variant that is missing (404), of another size or hash, or
 * unreachable after the downloader's own retries makes way for the next; when none worked, the passes
 * repeat with backoff (a mirror mid-sync may settle) and then fail with MirrorIndexUnavailableError
 * listing every attempt. Parse errors of verified bytes, aborts and local failures end it at once.
 */
export async function fetchIndex<T>(
  downloader: Downloader,
  index: string,
  sources: readonly IndexSource[],
  deps: ScanDeps,
  parse: (stream: Readable, label: string) => Promise<T>,
): Promise<T> {
  const rounds = Math.max(1, deps.indexRetry?.rounds ?? DEFAULT_ROUNDS);
  const delayMs = deps.indexRetry?.delayMs ?? DEFAULT_DELAY_MS;
  const attempts: IndexAttempt[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round > 0) {
      try {
        await sleep(delayMs * 2 ** (round - 1), undefined, { signal: deps.signal });
      } catch (cause) {
        throw new MirrorAbortedError('aborted while waiting to retry an index', { cause });
      }
    }
    let worthRetrying = false;
    for (const source of sources) {
      for (const url of source.urls) {
        let file: DownloadedFile;
        try {
          file = await downloader.download(
            url,
            { sha256: source.sha256, size: source.size },
            { dir: deps.dir, signal: deps.signal },
          );
        } catch (err) {
          if (!(err instanceof MirrorError) || err instanceof MirrorAbortedError) throw err;
          if (err instanceof MirrorConfigError) throw err;
          attempts.push({ url, code: err.code, message: err.message });
          if (err.code !== 'MIRROR_NOT_FOUND') worthRetrying = true;
          continue;
        }
        try {
          const stream = await openIndex(file.path, source.label, deps.maxIndexBytes);
          try {
            return await parse(stream, source.label);
          } finally {
            stream.destroy();
          }
        } finally {
          await rm(file.path, { force: true });
        }
      }
    }
    // Missing everywhere stays missing: only wrong or unreachable files are worth another pass.
    if (!worthRetrying) break;
  }
  throw new MirrorIndexUnavailableError(index, attempts, { url: sources[0]?.label });
}

/**
 * Open a (verified) index file as a stream of its decompressed bytes, at most `maxBytes` of them. The
 * format comes from the magic bytes, not the name (mirrors mislabel; magic does not), and decoding is
 * @btfwatch/pkg's. Decoder failures surface on the stream as MirrorParseError, more output than
 * `maxBytes` as MirrorIndexTooLargeError (the decoder is stopped then).
 */
export async function openIndex(
  path: string,
  label: string,
  maxBytes = DEFAULT_MAX_INDEX_BYTES,
): Promise<Readable> {
  const head = Buffer.alloc(8);
  const fh = await open(path, 'r');
  let size: number;
  try {
    await fh.read(head, 0, head.length, 0);
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  const kind = detectCompression(head) ?? 'none';
  // lzma-alone's magic is weak and LZ4 legacy is a kernel-image format; neither is an index compression.
  if (kind === 'lz4' || kind === 'lzma') {
    throw new MirrorParseError(`${label}: not a plain, gzip, xz, zstd or bzip2 index`, { url: label });
  }
  const decoded = decompressStream(createReadStream(path), kind, {
    maxOutputBytes: maxBytes,
    limitName: 'maxIndexBytes',
    // Only seek-bzip (when no bzip2 tool is installed) holds its input; the file is already on disk.
    maxBufferedInput: Math.max(size, 1),
    what: label,
  });
  const out = new PassThrough();
  decoded.on('error', (err) => out.destroy(toMirrorError(err, label, maxBytes)));
  // Stopping early (a parser that has seen enough, or failed) stops the decoder too.
  out.on('close', () => decoded.destroy());
  return decoded.pipe(out);
}

function toMirrorError(err: unknown, label: string, maxBytes: number): Error {
  if (err instanceof MirrorError) return err;
  if (err instanceof PkgLimitExceededError)
    return new MirrorIndexTooLargeError(maxBytes, { url: label, cause: err });
  if (err instanceof PkgError) {
    return new MirrorParseError(`${label}: cannot decompress (${err.message})`, { url: label, cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
