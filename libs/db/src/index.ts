export * from './schema/index.ts';
export { migrateDatabase, migrationsFolder, openDatabase, preparedRows, queryRows } from './database.ts';
export type { Database, DatabaseHandle, Executor, OpenOptions, Schema } from './database.ts';
export * from './repos/index.ts';
export { DbError } from './errors.ts';
export type { DbErrorCode } from './errors.ts';
