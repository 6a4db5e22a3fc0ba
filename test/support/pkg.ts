// Helpers shared by this lib's tests: fixture paths, oracles run as child processes. Not exported.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/pkg/', import.meta.url));

export function fixture(rel: string): string {
  return FIXTURES + rel;
}

export function fixtureBytes(rel: string): Buffer {
  return readFileSync(fixture(rel));
}

export function fixtureNames(dir: string): string[] {
  return readdirSync(fixture(dir)).sort();
}

/** Runs a tool and returns its stdout; throws with its stderr when it fails. */
export function run(
  cmd: string,
  args: string[],
  options: { input?: Uint8Array; shell?: boolean } = {},
): Buffer {
  const r = options.shell
    ? spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { input: options.input, maxBuffer: 1 << 30 })
    : spawnSync(cmd, args, { input: options.input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout;
}

export function sh(script: string, input?: Uint8Array): Buffer {
  return run(script, [], { shell: true, input });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Paths of pinned full packages, fetched on demand into the cache (network on first use). */
export function fetchPackage(file: string): string {
  return run(fixture('fetch.sh'), [file]).toString().trim();
}

/** Decoder child processes (xz, zstd, bzip2) of this process that are still alive. */
export function liveChildren(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z' && DECODERS.has(comm)) out.push(comm);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const DECODERS = new Set(['xz', 'zstd', 'bzip2']);

export async function waitNoChildren(timeoutMs = 3000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  let live = liveChildren();
  while (live.length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    live = liveChildren();
  }
  return live;
}

/** `readelf -h` of in-memory ELF bytes (readelf needs a file). */
export function readelfHeader(bytes: Uint8Array): string {
  return sh('f=$(mktemp) && cat > "$f" && readelf -h "$f"; rc=$?; rm -f "$f"; exit $rc', bytes).toString();
}
