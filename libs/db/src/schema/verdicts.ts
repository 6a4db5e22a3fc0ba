import { bigint, index, integer, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { bytea, createdAt } from './columns.ts';
import { kernelBuilds } from './kernels.ts';
import { moduleBuilds } from './modules.ts';

import type { AbiVerdict, BtfVerdict, LoadVerdict } from '@btfwatch/compat';

// The verdict vocabulary is libs/compat's; rows store it as text.
export type { AbiVerdict, BtfVerdict, LoadVerdict };

/** Module build M on booted kernel K. */
export const verdicts = pgTable(
  'verdicts',
  {
    moduleBuildId: bigint('module_build_id', { mode: 'number' })
      .notNull()
      .references(() => moduleBuilds.id, { onDelete: 'cascade' }),
    kernelBuildId: integer('kernel_build_id')
      .notNull()
      .references(() => kernelBuilds.id, { onDelete: 'cascade' }),
    btf: text('btf').$type<BtfVerdict>().notNull(),
    load: text('load').$type<LoadVerdict>().notNull(),
    loadReason: text('load_reason'),
    abi: text('abi').$type<AbiVerdict>().notNull(),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull(),
    computedAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.moduleBuildId, t.kernelBuildId] }),
    // Keyset pages of one kernel's verdicts, all or of one btf verdict, in module build order.
    index('verdicts_kernel_module_idx').on(t.kernelBuildId, t.moduleBuildId),
    index('verdicts_kernel_btf_idx').on(t.kernelBuildId, t.btf, t.moduleBuildId),
  ],
);
export type Verdict = typeof verdicts.$inferSelect;
export type NewVerdict = typeof verdicts.$inferInsert;

/** What differs between two base BTFs, computed once per ordered pair (build base → booted base). */
export const basePairs = pgTable(
  'base_pairs',
  {
    fromSha256: text('from_sha256').notNull(),
    toSha256: text('to_sha256').notNull(),
    changedTypes: integer('changed_types').notNull(),
    changedStrings: integer('changed_strings').notNull(),
    /** Both bases' counts, then the changed type ids and string ranges, as little-endian u32 words. */
    diff: bytea('diff').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.fromSha256, t.toSha256] })],
);
