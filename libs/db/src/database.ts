import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { PgDialect, type PgDatabase, type PgQueryResultHKT, type PgSession } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction or the database itself: repository functions accept either so jobs compose writes. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Where the data lives, for logs (password stripped). */
  location: string;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Postgres URL; when absent an embedded PGlite database is opened under `dataDir`. */
  url?: string | undefined;
  dataDir?: string;
  poolSize?: number;
  /** How long an embedded data directory's lock outlives a holder that died (default 10 s). */
  lockStaleMs?: number;
}

export const migrationsFolder = new URL('../../../migrations', import.meta.url).pathname;

export async function openDatabase(options: OpenOptions): Promise<DatabaseHandle> {
  if (options.url) {
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // An idle client's network error must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    const db = drizzlePg({ client: pool, schema }) as unknown as Database;
    const location = redact(options.url);
    return {
      db,
      kind: 'postgres',
      location,
      ping: async () => {
        await pool.query('select 1');
      },
      close: () => pool.end(),
    };
  }
  if (!options.dataDir) throw new Error('openDatabase: either url or dataDir is required');
  const dir = join(options.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const unlock = await lockDataDir(options.dataDir, options.lockStaleMs);
  let client: PGlite;
  try {
    client = await PGlite.create(dir);
  } catch (err) {
    await unlock();
    throw err;
  }
  const db = drizzlePglite({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    location: dir,
    ping: async () => {
      await client.query('select 1');
    },
    close: async () => {
      try {
        await client.close();
      } finally {
        await unlock();
      }
    },
  };
}

/** Applies migrations/; concurrent starters against one Postgres serialise on an advisory lock. */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.kind === 'pglite') {
    await migratePglite(handle.db as never, { migrationsFolder });
    return;
  }
  await handle.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(7406519003)`);
    await migratePg(tx as never, { migrationsFolder });
  });
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres';
  }
}

/** Rows of a raw SQL query; both drivers answer with `{ rows }`. */
export async function queryRows<T>(db: Executor, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

const dialect = new PgDialect();
type Statement = { execute(values?: Record<string, unknown>): Promise<unknown> };
const statementsBySession = new WeakMap<object, Map<string, Statement>>();

/**
 * Rows of a raw SQL query sent as a named prepared statement, so Postgres parses and plans it once per
 * connection instead of on every call. `key` names the query's shape: `build` runs once per session and
 * key, and every value that varies between calls must be a `sql.placeholder(name)` filled from `values`.
 */
export async function preparedRows<T>(
  db: Executor,
  key: string,
  build: () => SQL,
  values: Record<string, unknown>,
): Promise<T[]> {
  // drizzle names prepared statements of its query builders only; raw SQL takes the same session call.
  const session = (db as unknown as { session: PgSession }).session;
  let statements = statementsBySession.get(session);
  if (!statements) statementsBySession.set(session, (statements = new Map()));
  let statement = statements.get(key);
  if (!statement) {
    const query = dialect.sqlToQuery(build());
    // One name, one text: a statement built differently (another version of this code) gets its own.
    const name = `${key}_${createHash('sha1').update(query.sql).digest('hex').slice(0, 12)}`;
    statement = session.prepareQuery(query, undefined, name, false);
    statements.set(key, statement);
  }
  const result = (await statement.execute(values)) as { rows: T[] };
  return result.rows;
}
