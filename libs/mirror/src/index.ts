/**
 * @btfwatch/mirror — everything between a mirror URL and verified package bytes, for apt and rpm
 * repositories. No database or queue code: state between runs goes in and out as plain values, and all
 * network traffic goes through an injectable undici dispatcher. See README.md.
 */
export { scanApt, aptConfigKey } from './apt.ts';
export type {
  AptMirrorConfig,
  AptScanState,
  AptScanInput,
  AptScanResult,
  AptIndexUnit,
  AptSuiteInfo,
} from './apt.ts';
export type { ScanDeps, IndexRetry, ScanWarning, ScanWarningCode } from './scan-common.ts';
export { checkPatterns, createMatcher, patternList, type PackageMatcher } from './glob.ts';
export {
  relationNames,
  selectByNameAndRelations,
  selectRpmByNameAndRelations,
  type NameSelection,
} from './name-selection.ts';
export { scanRpm, rpmConfigKey } from './rpm.ts';
export type { RpmMirrorConfig, RpmScanState, RpmScanInput, RpmScanResult, RpmIndexInfo } from './rpm.ts';
export { createDownloader, defaultDownloadDir } from './downloader.ts';
export { DEFAULT_MAX_INDEX_BYTES } from './index-file.ts';
export type {
  Downloader,
  DownloaderOptions,
  DownloaderTimeouts,
  DownloaderRetries,
  DownloaderStats,
  DownloadedFile,
  ExpectedFile,
  MetadataResponse,
} from './downloader.ts';
export { download, fetchPackages } from './fetch-packages.ts';
export type { DownloadDeps, FetchOutcome, FetchPackagesOptions } from './fetch-packages.ts';
export { armorKeyring, loadKeyring, DEBIAN_ARCHIVE_KEYRING } from './keyring.ts';
export type { Keyring, KeySource } from './keyring.ts';
export type { Signer } from './signature.ts';
export type { Role, Evidence } from './classify.ts';
export type { Candidate, SignatureReport, ConditionalState, KnownSet } from './types.ts';
export type { ReleaseFile } from './release.ts';
export * from './errors.ts';
