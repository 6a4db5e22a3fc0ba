import { compareDebianVersions } from './versions.ts';

/** How many earlier uploads of the same flavour and series have their modules checked on a new build. */
export const PREVIOUS_BUILDS = 2;

/** What the relevance rules read of a kernel build. */
export interface UploadFacts {
  version: string;
  kernelVersion: string | null;
}

const series = (v: string | null) => (v ?? '').split('.').slice(0, 2).join('.');

/**
 * The previous uploads whose in-tree modules matter to `kernel` (DESIGN §2): among its siblings (same
 * package names' builds of the same flavour), those of the same upstream series with an older package
 * version, newest first, at most `count`.
 */
export function previousUploads<K extends UploadFacts>(
  kernel: UploadFacts,
  siblings: readonly K[],
  count = PREVIOUS_BUILDS,
): K[] {
  return siblings
    .filter((k) => series(k.kernelVersion) === series(kernel.kernelVersion))
    .filter((k) => compareDebianVersions(k.version, kernel.version) < 0)
    .sort((a, b) => compareDebianVersions(b.version, a.version))
    .slice(0, count);
}
