import {
  kernelPackages,
  mirrors,
  packageLocations,
  packages,
  type Alert,
  type Executor,
  type KernelBuild,
  type Mirror,
  type MirrorSuite,
} from '@btfwatch/db';
import { asc, eq, sql, type SQL } from 'drizzle-orm';

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

/** A mirror URL for readers: user info (credentials of a private mirror) stripped. */
function publicMirrorUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return raw;
  }
}

/** A timestamptz as an ISO 8601 UTC string, whichever driver reads it. */
const isoUtc = (value: SQL) => sql`to_char(${value} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Where a kernel build was seen: each mirror and suite carrying any of its packages, with how many of them,
 * when a scan first listed one of them there and when one last did. A location recorded before its first
 * sighting was kept falls back to the package's first sighting anywhere.
 */
export async function kernelLocations(db: Executor, kernelBuildId: number) {
  const rows = await db
    .select({
      mirrorId: mirrors.id,
      mirrorUrl: mirrors.url,
      kind: mirrors.kind,
      distro: mirrors.distro,
      suite: packageLocations.suite,
      packages: sql<number>`count(distinct ${packageLocations.packageSha256})::int`,
      firstSeenAt: sql<string>`${isoUtc(
        sql`min(coalesce(${packageLocations.firstSeenAt}, ${packages.firstSeenAt}))`,
      )}`,
      lastSeenAt: sql<string>`${isoUtc(sql`max(${packageLocations.lastSeenAt})`)}`,
    })
    .from(kernelPackages)
    .innerJoin(packageLocations, eq(packageLocations.packageSha256, kernelPackages.packageSha256))
    .innerJoin(mirrors, eq(mirrors.id, packageLocations.mirrorId))
    .innerJoin(packages, eq(packages.sha256, kernelPackages.packageSha256))
    .where(eq(kernelPackages.kernelBuildId, kernelBuildId))
    .groupBy(mirrors.id, mirrors.url, mirrors.kind, mirrors.distro, packageLocations.suite)
    .orderBy(asc(mirrors.id), asc(packageLocations.suite));
  return rows.map((r) => ({
    mirrorId: r.mirrorId,
    mirrorUrl: publicMirrorUrl(r.mirrorUrl),
    kind: r.kind,
    distro: r.distro,
    suite: r.suite,
    packages: Number(r.packages),
    firstSeenAt: r.firstSeenAt,
    lastSeenAt: r.lastSeenAt,
  }));
}

export function mirrorView(m: Mirror, suites?: MirrorSuite[]) {
  return {
    id: m.id,
    kind: m.kind,
    url: m.url,
    distro: m.distro,
    suites: m.suites,
    components: m.components,
    arch: m.arch,
    match: m.match,
    insecure: m.insecure,
    hasKeyring: m.keyring !== null,
    scanIntervalSeconds: m.scanIntervalSeconds,
    createdAt: m.createdAt.toISOString(),
    lastScanAt: iso(m.lastScanAt),
    lastScanError: m.lastScanError,
    ...(suites
      ? {
          suiteStates: suites.map((s) => ({
            suite: s.suite,
            indexSha256: s.indexSha256,
            signedBy: s.signedBy,
            scannedAt: iso(s.scannedAt),
          })),
        }
      : {}),
    links: { self: `/v1/mirrors/${m.id}`, scan: `/v1/mirrors/${m.id}/scan` },
  };
}

export function alertView(a: Alert, kernel?: KernelBuild) {
  return {
    id: a.id,
    kind: a.kind as 'btf_break',
    kernelId: a.kernelBuildId,
    ...(kernel ? { kernel: kernelView(kernel) } : {}),
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
