import { asc, eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { kernelPackages, mirrors, packageLocations, packages } from '../schema/index.ts';

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
 * when a scan first listed one of them there and when one last did, and the date of the earliest index that
 * listed one of them (published then or earlier; null when no index said). A location recorded before its
 * first sighting was kept falls back to the package's first sighting anywhere.
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
      publishedAt: sql<string | null>`${isoUtc(sql`min(${packageLocations.publishedAt})`)}`,
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
    publishedAt: r.publishedAt ?? null,
  }));
}
