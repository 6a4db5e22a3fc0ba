import { boolean, integer, jsonb, pgTable, primaryKey, serial, text } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './columns.ts';

export const mirrors = pgTable('mirrors', {
  id: serial('id').primaryKey(),
  kind: text('kind', { enum: ['apt', 'rpm'] }).notNull(),
  url: text('url').notNull(),
  /** apt suites (e.g. bookworm-security); rpm mirrors use one pseudo-suite per repository URL. */
  suites: jsonb('suites').$type<string[]>().notNull(),
  components: jsonb('components').$type<string[]>().notNull(),
  arch: text('arch').notNull(),
  /**
   * Package-name patterns limiting scope (fnmatch, as apt writes them: 'linux-image-6.1.0-5[56]-amd64');
   * empty: every kernel package of the suites.
   */
  match: jsonb('match_patterns').$type<string[]>().notNull().default([]),
  /**
   * The distribution the mirror's kernel builds belong to; null: each build's is read from its release
   * string (Ubuntu's 6.8.0-31-generic, Fedora's .fc41., RHEL's .el9., openSUSE's -default, Proxmox's -pve),
   * else debian for apt and fedora for rpm.
   */
  distro: text('distro'),
  /** Armored or binary OpenPGP key material, or a path to a keyring file; null means the distro default. */
  keyring: text('keyring'),
  /** Signature checking explicitly disabled for this mirror. */
  insecure: boolean('insecure').notNull().default(false),
  /** Releases past their Valid-Until accepted (apt's Acquire::Check-Valid-Until=false): snapshot or frozen mirrors. */
  allowExpired: boolean('allow_expired').notNull().default(false),
  scanIntervalSeconds: integer('scan_interval_seconds'),
  createdAt: createdAt(),
  lastScanAt: tstz('last_scan_at'),
  lastScanError: text('last_scan_error'),
  /** What the last scan noticed without failing (a Contents that could not be had, patterns matching nothing). */
  lastScanWarnings: jsonb('last_scan_warnings').$type<MirrorScanWarning[]>().notNull().default([]),
});
export type Mirror = typeof mirrors.$inferSelect;
/** One warning of a scan, with the suite it is about (absent: the mirror as a whole). */
export interface MirrorScanWarning {
  suite?: string;
  code: string;
  message: string;
}
export type NewMirror = typeof mirrors.$inferInsert;

/** What a suite's index looked like at the last scan, for conditional and skipped requests. */
export const mirrorSuites = pgTable(
  'mirror_suites',
  {
    mirrorId: integer('mirror_id')
      .notNull()
      .references(() => mirrors.id, { onDelete: 'cascade' }),
    suite: text('suite').notNull(),
    indexSha256: text('index_sha256'),
    etag: text('etag'),
    lastModified: text('last_modified'),
    signedBy: text('signed_by'),
    scannedAt: tstz('scanned_at'),
    state: jsonb('state').$type<Record<string, unknown>>(),
    /** Why the last scan of this suite failed (the other suites went on); null after a scan that worked. */
    lastError: text('last_error'),
    lastErrorAt: tstz('last_error_at'),
  },
  (t) => [primaryKey({ columns: [t.mirrorId, t.suite] })],
);
export type MirrorSuite = typeof mirrorSuites.$inferSelect;
