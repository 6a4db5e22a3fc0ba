import { bigint, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * Counters bumped in the same transaction as a change to a whole table's contents that cached answers
 * depend on. `module_builds`: module builds inserted (a selection by name or package can grow).
 */
export const catalogVersions = pgTable('catalog_versions', {
  name: text('name').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
});

export type CatalogCounter = 'module_builds';
