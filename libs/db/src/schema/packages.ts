import { bigint, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { bytea, createdAt, tstz } from './columns.ts';
import { mirrors } from './mirrors.ts';

/** A package file, content-addressed: stored once however many suites or mirrors carry it. */
export const packages = pgTable(
  'packages',
  {
    sha256: text('sha256').primaryKey(),
    format: text('format', { enum: ['deb', 'rpm'] }).notNull(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    arch: text('arch').notNull(),
    source: text('source'),
    sourceVersion: text('source_version'),
    size: bigint('size', { mode: 'number' }).notNull(),
    role: text('role').notNull(),
    depends: jsonb('depends').$type<string[]>().notNull().default([]),
    /** Package names the depends clauses mention (alternatives included), for indexed reverse lookups. */
    dependsOn: text('depends_on')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    provides: jsonb('provides').$type<string[]>().notNull().default([]),
    /** Names the provides entries give (rpm `kernel-uname-r = …`, apt virtual packages), for indexed lookups. */
    providedNames: text('provided_names')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    status: text('status', { enum: ['pending', 'ingested', 'failed', 'skipped'] })
      .notNull()
      .default('pending'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /**
     * Bumped when a scan finds this package's ingest job failed (retries used up on transient faults): the
     * ingest job id carries it, so the next attempt gets a new deterministic id.
     */
    ingestGeneration: integer('ingest_generation').notNull().default(0),
    firstSeenAt: createdAt(),
    ingestedAt: tstz('ingested_at'),
  },
  (t) => [
    index('packages_name_version_idx').on(t.name, t.version),
    index('packages_status_idx').on(t.status),
    index('packages_depends_on_idx').using('gin', t.dependsOn),
    index('packages_provided_names_idx').using('gin', t.providedNames),
  ],
);
export type Package = typeof packages.$inferSelect;
export type NewPackage = typeof packages.$inferInsert;

/** Where a package was seen. */
export const packageLocations = pgTable(
  'package_locations',
  {
    packageSha256: text('package_sha256')
      .notNull()
      .references(() => packages.sha256, { onDelete: 'cascade' }),
    mirrorId: integer('mirror_id')
      .notNull()
      .references(() => mirrors.id, { onDelete: 'cascade' }),
    suite: text('suite').notNull(),
    url: text('url').notNull(),
    /**
     * When a scan first listed the package at this mirror and suite (set on insert, kept after). Null for
     * locations recorded before btfwatch kept it: their first sighting here is not known.
     */
    firstSeenAt: tstz('first_seen_at'),
    lastSeenAt: createdAt(),
    /**
     * The date of the index that listed the package here when a scan first did (apt: the suite's Release
     * `Date:`; rpm: the primary metadata's repomd timestamp): the package was published then or earlier.
     * Null where the index carries no date, or for locations recorded before btfwatch kept it.
     */
    publishedAt: tstz('published_at'),
  },
  (t) => [
    primaryKey({ columns: [t.packageSha256, t.mirrorId, t.suite] }),
    index('package_locations_mirror_idx').on(t.mirrorId, t.suite),
  ],
);

/** Content-addressed bytes (base BTF, module BTF, configs, symbol CRC tables), zstd-compressed when it pays. */
export const blobs = pgTable('blobs', {
  sha256: text('sha256').primaryKey(),
  kind: text('kind').notNull(),
  size: bigint('size', { mode: 'number' }).notNull(),
  encoding: text('encoding', { enum: ['identity', 'zstd'] }).notNull(),
  data: bytea('data').notNull(),
  createdAt: createdAt(),
});
export type Blob = typeof blobs.$inferSelect;
