import { readdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * Scratch directories are named `ingest-<host>.<pid>-<random>`: a worker sharing DATA_DIR with others
 * (one volume, several containers) can tell its own dead predecessors' leftovers from a live neighbour's.
 */
export function scratchPrefix(): string {
  return `ingest-${ownerHost()}.${process.pid}-`;
}

/** This host's name as scratch names carry it. */
const ownerHost = () => hostname().replace(/[^A-Za-z0-9_-]/g, '_');

/** Another host's scratch this old is left over for sure: no ingest runs for a day. */
const FOREIGN_MAX_AGE_MS = 24 * 3600 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM';
  }
}

/**
 * Removes what ingests killed mid-way (kill -9, OOM, power loss) left under `scratchDir`: this host's
 * directories whose process is gone, unnamed ones from before names carried an owner, and anyone's
 * older than a day. Returns the names removed.
 */
export function sweepScratch(scratchDir: string, now = Date.now()): string[] {
  const host = ownerHost();
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(scratchDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith('ingest-')) continue;
    const owner = /^ingest-(.+)\.(\d+)-[^.]*$/.exec(name);
    const path = join(scratchDir, name);
    let stale: boolean;
    if (!owner) stale = true;
    else if (owner[1] === host) stale = Number(owner[2]) !== process.pid && !alive(Number(owner[2]));
    else {
      const mtime = (() => {
        try {
          return statSync(path).mtimeMs;
        } catch {
          return now;
        }
      })();
      stale = now - mtime > FOREIGN_MAX_AGE_MS;
    }
    if (!stale) continue;
    rmSync(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
