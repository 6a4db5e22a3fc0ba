import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The admin connection tests create throwaway databases through (local trust auth, as CI sets up). */
export const POSTGRES_ADMIN_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TempDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new empty Postgres database, dropped (with its connections) by `drop()`. */
export async function createTempDatabase(): Promise<TempDatabase> {
  const prefix = process.env.BTFWATCH_TEST_DATABASE_PREFIX ?? 'btfwatch_test';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(
      `BTFWATCH_TEST_DATABASE_PREFIX ${JSON.stringify(prefix)}: lower-case letters, digits and _ only`,
    );
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A temporary directory removed by `remove()`. */
export function tempDir(prefix = 'btfwatch-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A key prefix that isolates one test's BullMQ queues on the shared Redis. */
export function uniqueQueuePrefix(): string {
  return `${process.env.BTFWATCH_TEST_QUEUE_PREFIX ?? 'btfwatch-test'}-${randomBytes(5).toString('hex')}`;
}
