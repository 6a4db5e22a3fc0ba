import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './columns.ts';

/** Same shape as @btfwatch/compat's KernelConfigFlags (libs/db does not depend on compat). */
export interface KernelConfigFlags {
  DEBUG_INFO_BTF: boolean;
  DEBUG_INFO_BTF_MODULES: boolean;
  MODULE_ALLOW_BTF_MISMATCH: boolean;
  MODVERSIONS: boolean;
}

/**
 * Every binary package of one source build with the same release string and version. Fields fill in
 * as its packages (image, modules, headers, base) are ingested in any order.
 */
export const kernelBuilds = pgTable(
  'kernel_builds',
  {
    id: serial('id').primaryKey(),
    distro: text('distro').notNull(),
    /** `uname -r`, e.g. 6.1.0-56-amd64. */
    release: text('release').notNull(),
    /** Source package version, e.g. 6.1.192-2. */
    version: text('version').notNull(),
    arch: text('arch').notNull(),
    flavour: text('flavour'),
    /** Upstream kernel version, e.g. 6.1.192. */
    kernelVersion: text('kernel_version'),
    /** Package that carried the vmlinuz. */
    imagePackage: text('image_package'),
    /** sha256 of the vmlinux .BTF section (= /sys/kernel/btf/vmlinux). */
    baseBtfSha256: text('base_btf_sha256'),
    nrTypes: integer('nr_types'),
    strLen: integer('str_len'),
    vermagic: text('vermagic'),
    config: jsonb('config').$type<KernelConfigFlags>(),
    /** Blob of exported symbol CRCs (Module.symvers form), when known. */
    symversSha256: text('symvers_sha256'),
    exportedSymbols: integer('exported_symbols'),
    /**
     * The CRCs read from the build's own image and modules against its Module.symvers, where both are known:
     * how many symbols both list and how many of them differ.
     */
    crcCheck: jsonb('crc_check').$type<{ compared: number; differ: number; examples: unknown[] }>(),
    suites: jsonb('suites').$type<string[]>().notNull().default([]),
    createdAt: createdAt(),
    evaluatedAt: tstz('evaluated_at'),
    /**
     * Bumped in the same transaction as every change to this build's verdicts (upsertVerdicts): an answer
     * cached with one value is current while the value is.
     */
    verdictsVersion: bigint('verdicts_version', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    uniqueIndex('kernel_builds_identity_idx').on(t.distro, t.release, t.version, t.arch),
    index('kernel_builds_base_idx').on(t.baseBtfSha256),
    index('kernel_builds_release_idx').on(t.release),
    index('kernel_builds_vermagic_idx').on(t.vermagic),
    index('kernel_builds_flavour_idx').on(t.distro, t.arch, t.flavour),
    index('kernel_builds_suites_idx').using('gin', t.suites),
  ],
);
export type KernelBuild = typeof kernelBuilds.$inferSelect;
export type NewKernelBuild = typeof kernelBuilds.$inferInsert;

export const kernelPackages = pgTable(
  'kernel_packages',
  {
    kernelBuildId: integer('kernel_build_id')
      .notNull()
      .references(() => kernelBuilds.id, { onDelete: 'cascade' }),
    packageSha256: text('package_sha256').notNull(),
    role: text('role').notNull(),
    hasVmlinuz: boolean('has_vmlinuz').notNull().default(false),
    modules: bigint('modules', { mode: 'number' }).notNull().default(0),
    /**
     * Blob (Module.symvers form) of the symbols this package's vmlinux and in-tree modules export for the
     * build, with their CRCs; null when it exports none with CRCs.
     */
    exportsSha256: text('exports_sha256'),
    exportedSymbols: integer('exported_symbols'),
    /** Whether those exports include the vmlinux's own (its image is an ELF with a symbol CRC table). */
    vmlinuxExports: boolean('vmlinux_exports').notNull().default(false),
  },
  (t) => [
    uniqueIndex('kernel_packages_idx').on(t.kernelBuildId, t.packageSha256),
    index('kernel_packages_package_idx').on(t.packageSha256),
  ],
);
