import { rm } from 'node:fs/promises';
import { createDownloader, type DownloadedFile, type Downloader, type ExpectedFile } from './downloader.ts';
import { MirrorError } from './errors.ts';
import { toKnownSet, type Candidate, type KnownSet } from './types.ts';

export interface DownloadDeps {
  /** Shared downloader (its per-host limit spans everything it does). Default: a new one, closed after. */
  downloader?: Downloader;
  /** Directory for the verified file (and its temp while downloading). */
  dir?: string;
  signal?: AbortSignal;
}

/**
 * Download one file and return it only once its size and sha256 match. On any failure nothing is left
 * behind. The caller owns the returned file.
 */
export async function download(
  url: string,
  expect: ExpectedFile,
  deps: DownloadDeps = {},
): Promise<DownloadedFile> {
  const downloader = deps.downloader ?? createDownloader();
  try {
    return await downloader.download(url, expect, { dir: deps.dir, signal: deps.signal });
  } finally {
    if (!deps.downloader) await downloader.close();
  }
}

export type FetchOutcome =
  | { candidate: Candidate; status: 'known' }
  | { candidate: Candidate; status: 'downloaded'; file: DownloadedFile | undefined }
  | { candidate: Candidate; status: 'failed'; error: MirrorError };

export interface FetchPackagesOptions extends DownloadDeps {
  /** Hashes already held; added to each candidate's own `known` flag. */
  knownSha256?: KnownSet;
  /**
   * Consume each verified file. When given, the file is removed after it resolves and the outcome's
   * `file` is undefined; otherwise files stay for the caller.
   */
  onFile?: (candidate: Candidate, file: DownloadedFile) => Promise<void>;
}

/**
 * Download every candidate whose sha256 is not known (each distinct hash once), concurrently up to the
 * downloader's per-host limit. Mirror failures are reported per package; other errors reject.
 */
export async function fetchPackages(
  candidates: readonly Candidate[],
  options: FetchPackagesOptions = {},
): Promise<FetchOutcome[]> {
  const known = toKnownSet(options.knownSha256);
  const downloader = options.downloader ?? createDownloader();
  const inFlight = new Map<string, Promise<FetchOutcome['status']>>();
  try {
    return await Promise.all(
      candidates.map(async (candidate): Promise<FetchOutcome> => {
        if (candidate.known || known.has(candidate.sha256)) return { candidate, status: 'known' };
        if (inFlight.has(candidate.sha256)) {
          // Same bytes listed twice (e.g. two components): fetched once, reported as known here.
          await inFlight.get(candidate.sha256)?.catch(() => undefined);
          return { candidate, status: 'known' };
        }
        let resolveStatus!: (s: FetchOutcome['status']) => void;
        inFlight.set(candidate.sha256, new Promise((r) => (resolveStatus = r)));
        try {
          const file = await downloader.download(
            candidate.url,
            { sha256: candidate.sha256, size: candidate.size },
            { dir: options.dir, signal: options.signal },
          );
          if (!options.onFile) {
            resolveStatus('downloaded');
            return { candidate, status: 'downloaded', file };
          }
          try {
            await options.onFile(candidate, file);
          } finally {
            await rm(file.path, { force: true });
          }
          resolveStatus('downloaded');
          return { candidate, status: 'downloaded', file: undefined };
        } catch (error) {
          resolveStatus('failed');
          if (error instanceof MirrorError) return { candidate, status: 'failed', error };
          throw error;
        }
      }),
    );
  } finally {
    if (!options.downloader) await downloader.close();
  }
}
