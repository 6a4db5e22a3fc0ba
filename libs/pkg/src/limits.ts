import { PkgLimitExceededError } from './errors.ts';

/**
 * Bounds applied to hostile input. Every figure is in bytes unless named otherwise.
 * Defaults fit the largest real kernel packages (a Debian linux-modules .deb unpacks to ~450 MB,
 * a vmlinux to ~70 MB) with headroom.
 */
export interface Limits {
  /** Largest declared size of one archive member or file (ar member, tar/cpio entry). */
  maxEntryBytes: number;
  /** Largest file `PickedFile.read()` buffers in memory; larger files must be streamed. */
  maxBufferedBytes: number;
  /** Total decompressed bytes of one package payload (data.tar, cpio). */
  maxTotalBytes: number;
  /** Number of entries in one payload archive. */
  maxEntries: number;
  /** Decompressed size of metadata: control.tar, rpm headers, debian-binary. */
  maxMetadataBytes: number;
  /** Longest entry path. */
  maxPathLength: number;
  /** Decompressed output of `extractVmlinux`. */
  maxVmlinuxBytes: number;
  /** Decompressed output of `decompressModule`. */
  maxModuleBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxEntryBytes: 1024 * MiB,
  maxBufferedBytes: 256 * MiB,
  maxTotalBytes: 8192 * MiB,
  maxEntries: 500_000,
  maxMetadataBytes: 64 * MiB,
  maxPathLength: 4096,
  maxVmlinuxBytes: 512 * MiB,
  maxModuleBytes: 256 * MiB,
});

export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`limits.${name} must be a non-negative safe integer, got ${String(value)}`);
    }
  }
  return limits;
}

/** Throws PKG_LIMIT_EXCEEDED when `value` is above `limits[name]`. */
export function checkLimit(limits: Limits, name: keyof Limits, value: number, what: string): void {
  if (value > limits[name]) {
    throw new PkgLimitExceededError(name, `${what} (${value}) exceeds limits.${name} (${limits[name]})`);
  }
}
