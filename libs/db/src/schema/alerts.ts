import { index, integer, jsonb, pgTable, serial, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';
import { kernelBuilds } from './kernels.ts';

/** An ABI-compatible upload that breaks BTF; stored once per (kernel build, cause). */
export const alerts = pgTable(
  'alerts',
  {
    id: serial('id').primaryKey(),
    kind: text('kind').notNull().default('btf_break'),
    kernelBuildId: integer('kernel_build_id')
      .notNull()
      .references(() => kernelBuilds.id, { onDelete: 'cascade' }),
    /** Stable cause key, e.g. `modules-of:<kernel build id>`. */
    cause: text('cause').notNull(),
    severity: text('severity', { enum: ['warning', 'critical'] }).notNull(),
    summary: text('summary').notNull(),
    affectedModules: integer('affected_modules').notNull(),
    details: jsonb('details').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('alerts_cause_idx').on(t.kernelBuildId, t.cause),
    index('alerts_created_idx').on(t.createdAt),
    index('alerts_severity_idx').on(t.severity, t.id),
  ],
);
export type Alert = typeof alerts.$inferSelect;
