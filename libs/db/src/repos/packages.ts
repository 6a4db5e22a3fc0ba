import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { dependencyNames } from '@btfwatch/compat';
import type { Executor } from '../database.ts';
import { packageLocations, packages, type NewPackage, type Package } from '../schema/index.ts';

/** Where a scan saw a package: mirror, suite, URL, and the date of the index that listed it (if it has one). */
export interface SeenLocation {
  mirrorId: number;
  suite: string;
  url: string;
  /** apt Release `Date:`, rpm primary timestamp; null or absent when the index carries none. */
  publishedAt?: Date | null;
}

/** Records a package seen on a mirror (once per sha256) and where; returns its current row. */
export async function recordSeenPackage(db: Executor, pkg: NewPackage, seen: SeenLocation): Promise<Package> {
  const { publishedAt = null, ...location } = seen;
  await db
    .insert(packages)
    .values({
      ...pkg,
      dependsOn: dependencyNames(pkg.depends ?? []),
      providedNames: dependencyNames(pkg.provides ?? []),
    })
    .onConflictDoNothing();
  await db
    .insert(packageLocations)
    .values({ packageSha256: pkg.sha256, ...location, firstSeenAt: sql`now()`, publishedAt })
    // firstSeenAt and publishedAt stay as the first scan that listed it here set them; a location recorded
    // without an index date takes a later one (still a true "published then or earlier").
    .onConflictDoUpdate({
      target: [packageLocations.packageSha256, packageLocations.mirrorId, packageLocations.suite],
      set: {
        url: location.url,
        lastSeenAt: sql`now()`,
        publishedAt: sql`coalesce(${packageLocations.publishedAt}, excluded.published_at)`,
      },
    });
  const [row] = await db.select().from(packages).where(eq(packages.sha256, pkg.sha256));
  return row!;
}

export async function getPackage(db: Executor, sha256: string): Promise<Package | undefined> {
  const [row] = await db.select().from(packages).where(eq(packages.sha256, sha256));
  return row;
}

export async function knownPackageHashes(db: Executor, hashes: string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (let i = 0; i < hashes.length; i += 1000) {
    const rows = await db
      .select({ sha256: packages.sha256 })
      .from(packages)
      .where(inArray(packages.sha256, hashes.slice(i, i + 1000)));
    for (const r of rows) known.add(r.sha256);
  }
  return known;
}

/** A package not ingested yet (and not failed for good) that a mirror lists, with where it lists it. */
export interface PendingPackage {
  pkg: Package;
  suite: string;
  url: string;
}

/** Packages still to ingest that `mirrorId` lists: one location each (the first suite by name). */
export async function pendingPackages(db: Executor, mirrorId: number): Promise<PendingPackage[]> {
  const rows = await db
    .selectDistinctOn([packages.sha256], {
      pkg: packages,
      suite: packageLocations.suite,
      url: packageLocations.url,
    })
    .from(packages)
    .innerJoin(packageLocations, eq(packageLocations.packageSha256, packages.sha256))
    .where(and(eq(packageLocations.mirrorId, mirrorId), eq(packages.status, 'pending')))
    .orderBy(asc(packages.sha256), asc(packageLocations.suite));
  return rows;
}

/**
 * Moves the package to its next ingest generation if it is still at `from`; returns the generation now
 * current (several scanners racing bump it once).
 */
export async function bumpIngestGeneration(db: Executor, sha256: string, from: number): Promise<number> {
  const [bumped] = await db
    .update(packages)
    .set({ ingestGeneration: from + 1 })
    .where(and(eq(packages.sha256, sha256), eq(packages.ingestGeneration, from)))
    .returning({ generation: packages.ingestGeneration });
  if (bumped) return bumped.generation;
  const [row] = await db
    .select({ generation: packages.ingestGeneration })
    .from(packages)
    .where(eq(packages.sha256, sha256));
  return row?.generation ?? from;
}

/** The last transient ingest failure, kept on a package that stays pending (retried by a later scan). */
export async function recordIngestError(
  db: Executor,
  sha256: string,
  error: { code: string; message: string },
): Promise<void> {
  await db
    .update(packages)
    .set({ errorCode: error.code, errorMessage: error.message })
    .where(and(eq(packages.sha256, sha256), eq(packages.status, 'pending')));
}

export async function markPackage(
  db: Executor,
  sha256: string,
  status: 'ingested' | 'failed' | 'skipped',
  error?: { code: string; message: string },
): Promise<void> {
  await db
    .update(packages)
    .set({
      status,
      errorCode: error?.code ?? null,
      errorMessage: error?.message ?? null,
      ingestedAt: status === 'ingested' ? new Date() : null,
    })
    .where(eq(packages.sha256, sha256));
}

export async function packageSuites(db: Executor, sha256s: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (sha256s.length === 0) return out;
  const rows = await db
    .select({ sha: packageLocations.packageSha256, suite: packageLocations.suite })
    .from(packageLocations)
    .where(inArray(packageLocations.packageSha256, sha256s));
  for (const r of rows) out.set(r.sha, [...new Set([...(out.get(r.sha) ?? []), r.suite])].sort());
  return out;
}

/** The package rows with these sha256s (in no particular order). */
export async function packagesBySha256(db: Executor, hashes: string[]): Promise<Package[]> {
  if (hashes.length === 0) return [];
  return db.select().from(packages).where(inArray(packages.sha256, hashes));
}
