import { bigserial, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { kernelBuilds } from './kernels.ts';
import { packages } from './packages.ts';

export type BuildBaseHow =
  'same-build' | 'declared-dependency' | 'validated' | 'distilled' | 'uploaded' | 'known-module-build';

/** One module file inside one package. */
export const moduleBuilds = pgTable(
  'module_builds',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    packageSha256: text('package_sha256')
      .notNull()
      .references(() => packages.sha256, { onDelete: 'cascade' }),
    path: text('path').notNull(),
    name: text('name').notNull(),
    /** Release directory it installs under (/lib/modules/<release>/). */
    release: text('release').notNull(),
    vermagic: text('vermagic'),
    srcversion: text('srcversion'),
    btfSha256: text('btf_sha256'),
    btfSize: integer('btf_size'),
    hasBtfBase: boolean('has_btf_base').notNull().default(false),
    btfBaseSha256: text('btf_base_sha256'),
    /** [symbol, crc] pairs from __versions. */
    importedCrcs: jsonb('imported_crcs').$type<Array<[string, number]>>().notNull().default([]),
    buildBaseSha256: text('build_base_sha256'),
    buildBaseHow: text('build_base_how').$type<BuildBaseHow>(),
    /** The kernel build this module belongs to, for in-tree modules. */
    kernelBuildId: integer('kernel_build_id').references(() => kernelBuilds.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('module_builds_identity_idx').on(t.packageSha256, t.path),
    index('module_builds_release_idx').on(t.release),
    index('module_builds_vermagic_idx').on(t.vermagic),
    index('module_builds_kernel_idx').on(t.kernelBuildId),
    index('module_builds_name_idx').on(t.name),
    // A package's module build ids without reading their (wide) rows: compat selections by package.
    index('module_builds_package_idx').on(t.packageSha256, t.id),
    // An uploaded module whose .BTF is a known module build's takes that build's base.
    index('module_builds_btf_idx').on(t.btfSha256),
  ],
);
export type ModuleBuild = typeof moduleBuilds.$inferSelect;
export type NewModuleBuild = typeof moduleBuilds.$inferInsert;
