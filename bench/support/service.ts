// `btfwatch serve` and the loopback mirror as child processes, for benches that watch them from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = new URL('../..', import.meta.url).pathname;
export const cli = join(root, 'apps/cli/bin/btfwatch.mjs');
export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface ServedMirror {
  aptUrl: string;
  publicKeyPath: string;
  armoredPublicKeyPath: string;
  close(): void;
}

/** The loopback apt mirror (test/support/mirror-server/serve.ts) in its own process, serving `packages`. */
export async function startMirrorProcess(suite: string, packages: string[]): Promise<ServedMirror> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'test/support/mirror-server/serve.ts'),
      JSON.stringify({ apt: { suites: { [suite]: { packages } } } }),
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`mirror exited ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const served = JSON.parse(line) as Omit<ServedMirror, 'close'>;
  return {
    ...served,
    close: () => {
      child.stdin!.end();
      child.kill('SIGTERM');
    },
  };
}

export interface ServeProcess {
  child: ChildProcess;
  origin: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** `btfwatch serve` (the tsc build) with `env` on 127.0.0.1:`port`, once /readyz answers. */
export async function startServe(port: number, env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cli, 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BTFWATCH_ADMIN_TOKEN: BENCH_TOKEN,
      BTFWATCH_RATE_LIMIT: '0',
      BTFWATCH_SCAN_INTERVAL: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      REDIS_URL: '',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${err.slice(-2000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error('serve never became ready');
    }
    try {
      if ((await fetch(`${origin}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, origin, stderr: () => err, stop };
}

export async function api<T>(origin: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${origin}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${BENCH_TOKEN}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface JobTimes {
  name: string;
  state: string;
  createdAt: string;
  finishedAt: string | null;
}

/** Adds the mirror and asks for a scan; returns the mirror id. */
export async function addAndScan(
  origin: string,
  mirror: ServedMirror,
  suite: string,
  keyring: string,
): Promise<number> {
  const created = await api<{ id: number }>(origin, 'POST', '/v1/mirrors', {
    kind: 'apt',
    url: mirror.aptUrl,
    suites: [suite],
    keyring,
  });
  await api(origin, 'POST', `/v1/mirrors/${created.id}/scan`);
  return created.id;
}

/** Until `evaluations` evaluate-kernel jobs finished (or one failed) and nothing is waiting, active or delayed. */
export async function waitQuiet(origin: string, evaluations = 1, timeoutMs = 600_000): Promise<JobTimes[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const j = await api<{ items: JobTimes[]; counts: Record<string, number> }>(
      origin,
      'GET',
      '/v1/jobs?limit=500',
    );
    const busy = (j.counts.waiting ?? 0) + (j.counts.active ?? 0) + (j.counts.delayed ?? 0);
    const evaluated = j.items.filter((i) => i.name === 'evaluate-kernel' && i.state === 'completed').length;
    const failed = j.items.some((i) => i.state === 'failed');
    if (busy === 0 && (evaluated >= evaluations || failed)) return j.items;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('jobs still running');
}
