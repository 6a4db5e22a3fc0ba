import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DbError } from './errors.ts';

/** Who holds an embedded data directory: shown to whoever else tries to open it. */
export interface DataDirHolder {
  pid: number;
  command: string;
  since: string;
}

const HOLDER_FILE = 'holder.json';

/**
 * One process at a time per embedded data directory: PGlite serves one process, and a second writer beside it
 * loses data (it writes files the first never reads, or overwrites them). The lock is a directory whose mtime
 * the holder refreshes; a holder that died (SIGKILL) leaves it stale after `staleMs`, and the next opener takes
 * it — at once when the holder's pid is gone from this machine. Throws DB_LOCKED naming the holder.
 */
export async function lockDataDir(dir: string, staleMs = 10_000): Promise<() => Promise<void>> {
  const lockPath = join(dir, 'btfwatch.lock');
  let release: () => Promise<void>;
  try {
    release = await takeLock(dir, lockPath, staleMs).catch((err: unknown) => {
      // A holder on this machine that is gone (SIGKILL, a crash) need not be waited out.
      const holder = readHolder(dir);
      if ((err as { code?: string }).code !== 'ELOCKED' || !holder || isAlive(holder.pid)) throw err;
      rmSync(lockPath, { recursive: true, force: true });
      return takeLock(dir, lockPath, staleMs);
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    const holder = readHolder(dir);
    const who = holder ? `${holder.command} (pid ${holder.pid}, since ${holder.since})` : 'another process';
    throw new DbError(
      'DB_LOCKED',
      `the embedded database in ${dir} is in use by ${who}: one process at a time may open it. ` +
        'Stop that process, use another DATA_DIR, or go through the running service (its API, e.g. POST /v1/mirrors and POST /v1/mirrors/{id}/scan)',
      { cause: err },
    );
  }
  const holder: DataDirHolder = {
    pid: process.pid,
    command: ['btfwatch', ...process.argv.slice(2)].join(' ').slice(0, 200),
    since: new Date().toISOString(),
  };
  writeFileSync(join(dir, HOLDER_FILE), `${JSON.stringify(holder)}\n`);
  return release;
}

function takeLock(dir: string, lockPath: string, staleMs: number): Promise<() => Promise<void>> {
  return lockfile.lock(dir, {
    lockfilePath: lockPath,
    stale: staleMs,
    update: Math.max(1000, Math.floor(staleMs / 2)),
    realpath: false,
    // A holder whose lock was taken over (it stalled past `stale`) must stop writing: make that loud.
    onCompromised: (err) => {
      throw new DbError('DB_LOCKED', `lost the lock on ${dir}: ${err.message}`, { cause: err });
    },
  });
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(dir: string): DataDirHolder | null {
  try {
    return JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')) as DataDirHolder;
  } catch {
    return null;
  }
}
