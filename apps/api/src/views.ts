import { redactDeep } from '@btfwatch/config';
import type { Alert, KernelBuild, Mirror, MirrorSuite } from '@btfwatch/db';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function kernelView(k: KernelBuild) {
  return {
    id: k.id,
    distro: k.distro,
    release: k.release,
    version: k.version,
    arch: k.arch,
    flavour: k.flavour,
    kernelVersion: k.kernelVersion,
    baseBtfSha256: k.baseBtfSha256,
    nrTypes: k.nrTypes,
    strLen: k.strLen,
    vermagic: k.vermagic,
    config: k.config ?? null,
    suites: k.suites,
    exportedSymbols: k.exportedSymbols,
    createdAt: k.createdAt.toISOString(),
    evaluatedAt: iso(k.evaluatedAt),
  };
}

/** A mirror as the API shows it: the credentials in its URL and in its errors replaced by `***`. */
export function mirrorView(m: Mirror, suites?: MirrorSuite[]) {
  return redactDeep({
    id: m.id,
    kind: m.kind,
    url: m.url,
    distro: m.distro,
    suites: m.suites,
    components: m.components,
    arch: m.arch,
    match: m.match,
    insecure: m.insecure,
    allowExpired: m.allowExpired,
    hasKeyring: m.keyring !== null,
    scanIntervalSeconds: m.scanIntervalSeconds,
    createdAt: m.createdAt.toISOString(),
    lastScanAt: iso(m.lastScanAt),
    lastScanError: m.lastScanError,
    lastScanWarnings: m.lastScanWarnings,
    ...(suites
      ? {
          suiteStates: suites.map((s) => ({
            suite: s.suite,
            indexSha256: s.indexSha256,
            signedBy: s.signedBy,
            scannedAt: iso(s.scannedAt),
            lastError: s.lastError,
            lastErrorAt: iso(s.lastErrorAt),
          })),
        }
      : {}),
    links: { self: `/v1/mirrors/${m.id}`, scan: `/v1/mirrors/${m.id}/scan` },
  });
}

/** The upload an alert is about (alert rule's `details.uploadKernelBuildId`), if it names one. */
export function alertUploadId(a: Alert): number | undefined {
  const id = (a.details as Record<string, unknown> | null)?.['uploadKernelBuildId'];
  return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
}

export function alertView(a: Alert, kernel?: KernelBuild, upload?: KernelBuild) {
  return {
    id: a.id,
    kind: a.kind as 'btf_break',
    kernelId: a.kernelBuildId,
    ...(kernel ? { kernel: kernelView(kernel) } : {}),
    ...(upload ? { upload: kernelView(upload) } : {}),
    cause: a.cause,
    severity: a.severity,
    summary: a.summary,
    affectedModules: a.affectedModules,
    details: a.details,
    createdAt: a.createdAt.toISOString(),
  };
}

/** Keyset cursor: the last id of the page, as a decimal string. */
export function nextCursor<T>(items: T[], limit: number, id: (item: T) => number): string | null {
  return items.length === limit && items.length > 0 ? String(id(items[items.length - 1]!)) : null;
}

/**
 * The id in a cursor, clamped to the id column's range (int4 by default) so a cursor past every id pages
 * to the end instead of failing in the database.
 */
export function cursorValue(cursor: string | undefined, max = 2147483647): number | undefined {
  return cursor === undefined ? undefined : Math.min(Number(cursor), max);
}
