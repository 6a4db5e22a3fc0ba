import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { DownloadedFile, Downloader, ExpectedFile } from '@btfwatch/mirror';
import { scratchPrefix } from './scratch.ts';

export interface DownloadProgress {
  /** Bytes received (and written) so far. */
  bytes: number;
}

/** A verified download in a directory of its own; `remove` deletes both. */
export interface ScratchDownload extends DownloadedFile {
  remove(): Promise<void>;
}

/**
 * Downloads into a fresh directory under `scratchDir` while the same bytes stream into `read` (the
 * downloader's `downloadWhileReading`: each attempt gets a fresh stream, and `read`'s value or error
 * counts only once size and sha256 verified — a checksum mismatch wins over what `read` made of bad
 * bytes). Reports the bytes received while the body streams: the downloader writes the body to a
 * `.partial` file there before verifying it, so its size is the count.
 */
export async function downloadAndRead<T>(
  downloader: Downloader,
  url: string,
  expect: ExpectedFile,
  scratchDir: string,
  read: (body: Readable) => Promise<T>,
  onProgress: (p: DownloadProgress) => void | Promise<void>,
  intervalMs = 250,
): Promise<{ file: ScratchDownload; value: T }> {
  const dir = await mkdtemp(join(scratchDir, scratchPrefix()));
  const remove = () => rm(dir, { recursive: true, force: true });
  let last = -1;
  let stopped = false;
  let polling: Promise<void> = Promise.resolve();
  const poll = async (): Promise<void> => {
    const names = await readdir(dir).catch(() => [] as string[]);
    let bytes = 0;
    for (const name of names) {
      if (!name.endsWith('.partial')) continue;
      bytes += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
    }
    if (!stopped && bytes !== last && bytes > 0) {
      last = bytes;
      await onProgress({ bytes });
    }
  };
  const timer = setInterval(() => {
    polling = polling.then(poll).catch(() => undefined);
  }, intervalMs);
  try {
    const { file, value } = await downloader.downloadWhileReading(url, expect, read, { dir });
    return { file: { ...file, remove }, value };
  } catch (err) {
    await remove();
    throw err;
  } finally {
    stopped = true;
    clearInterval(timer);
    await polling;
  }
}
