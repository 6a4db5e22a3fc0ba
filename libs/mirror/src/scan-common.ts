import type { Downloader } from './downloader.ts';
import { MirrorConfigError } from './errors.ts';
import type { PackageMatcher } from './glob.ts';

/** What apt and rpm scans share: injected I/O, limits and the retry policy for indexes. */
export interface ScanDeps {
  downloader?: Downloader;
  /** Where index files are staged while parsed (removed afterwards). */
  dir?: string;
  now?: () => Date;
  signal?: AbortSignal;
  /** Largest decompressed size of one index (Packages, Contents, primary, filelists). Default 4 GiB. */
  maxIndexBytes?: number;
  indexRetry?: IndexRetry;
}

/**
 * How long to keep trying an index whose bytes do not match the signed metadata. The downloader already
 * retries network faults per request; these rounds go over every listed variant again, for a mirror
 * that is mid-sync and may settle.
 */
export interface IndexRetry {
  /** Passes over every variant. Default 3. */
  rounds?: number;
  /** Pause before the second pass; doubles for each further one. Default 2 s. */
  delayMs?: number;
}

/** Something a scan noticed that did not stop it; `code` is stable, `message` for people. */
export interface ScanWarning {
  code: ScanWarningCode;
  message: string;
}

export type ScanWarningCode =
  /** The optional file list (Contents, filelists) is listed but cannot be had as listed. */
  | 'FILE_LIST_UNAVAILABLE'
  /** The optional file list is listed empty (Debian's security archive). */
  | 'FILE_LIST_EMPTY'
  /** The repository lists no file list at all. */
  | 'FILE_LIST_MISSING'
  /** The config switched the file list off. */
  | 'FILE_LIST_OFF'
  /** A Packages entry with an unusable field (an absurd Size, a bad hash, an unsafe path): skipped. */
  | 'PACKAGE_ENTRY_REJECTED'
  /** An index not needed to find kernel builds (the arch:all Packages) cannot be had as listed. */
  | 'INDEX_UNAVAILABLE'
  /** A match pattern matched no package name. */
  | 'MATCH_NOTHING'
  /** The patterns matched package names, but none of them is a kernel package. */
  | 'MATCH_NO_KERNEL_PACKAGE'
  /** No match patterns, the suite lists packages, and none of them is recognised as a kernel package. */
  | 'NO_KERNEL_PACKAGE'
  /** A component the Release names lists no indexes. */
  | 'COMPONENT_EMPTY'
  /** A Release past its Valid-Until, accepted because the mirror allows expired metadata. */
  | 'RELEASE_EXPIRED'
  /** Kernel packages left out because their index gives no sha256. */
  | 'CHECKSUM_TYPE';

export function archiveRoot(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new MirrorConfigError(`not a URL: ${url}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new MirrorConfigError(`mirror URL must be http or https: ${url}`);
  }
  if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
  parsed.search = '';
  parsed.hash = '';
  return parsed.toString();
}

/** Warnings about a scan that selects nothing: a scan that "completes" finding nothing must say why. */
export function matchWarnings(
  matcher: PackageMatcher,
  namesMatched: number,
  candidates: number,
  where: string,
): ScanWarning[] {
  if (matcher.patterns.length === 0) {
    // Nothing recognised in a suite that has packages: a layout we do not know must not pass for "no kernels".
    if (candidates > 0 || namesMatched === 0) return [];
    return [
      {
        code: 'NO_KERNEL_PACKAGE',
        message: `${where}: ${namesMatched} package(s) listed, none recognised as a kernel package by its files, name or Depends/Provides`,
      },
    ];
  }
  const out: ScanWarning[] = matcher.unmatched().map((p) => ({
    code: 'MATCH_NOTHING' as const,
    message: `match pattern ${JSON.stringify(p)} matches no package in ${where}`,
  }));
  if (candidates === 0 && namesMatched > 0) {
    out.push({
      code: 'MATCH_NO_KERNEL_PACKAGE',
      message: `match ${JSON.stringify(matcher.patterns)} matches ${namesMatched} package(s) in ${where}, none of them a kernel package`,
    });
  }
  return out;
}
