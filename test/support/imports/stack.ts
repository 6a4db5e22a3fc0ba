/**
 * Module URL fragments of the service's stack: what offline commands (help, inspect, check, guard) must never load.
 * The database lib's error classes (libs/db/src/errors.ts, which the CLI's one-line error report knows) load
 * nothing else and are not part of it.
 */
export const SERVICE_STACK = [
  '/node_modules/fastify/',
  '/node_modules/bullmq/',
  '/node_modules/ioredis/',
  '/node_modules/pg/',
  '/node_modules/@electric-sql/pglite/',
  '/node_modules/drizzle-orm/',
  '/apps/api/',
  '/apps/worker/',
  '/libs/db/src/index.ts',
  '/libs/db/src/database.ts',
  '/libs/db/src/repos/',
  '/libs/db/src/schema/',
];

/** Path of the recorder to preload (`node --import <it>`; see record.mjs). */
export const importRecorder = new URL('./record.mjs', import.meta.url).pathname;
