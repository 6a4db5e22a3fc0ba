// Decompression bombs and hostile requests replayed against a running `btfwatch serve` (embedded mode),
// while a prober asks /healthz every 20 ms: how far the server's RSS rises above idle, and what the bombs
// do to the latency of a cheap request. Reference: the same server idle, in the same run.
//   npm run bench -- hostile [--rounds N] [--clients N]
// Goal (issue 14): max-rss-delta-mb ≤ 256 and healthz-p99-ms < 50 while bombs are refused.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixed, note, option, percentile, printFigures } from './support/figures.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const rounds = Number(option(args, 'rounds', '6'));
const clients = Number(option(args, 'clients', '4'));
const MiB = 1024 * 1024;

const TOOLS = {
  zstd: 'zstd -q -19 -c',
  xz: 'xz -q -0 -c',
  gzip: 'gzip -1 -c',
  bzip2: 'bzip2 -1 -c',
  lz4: 'lz4 -q -l -c',
} as const;

/** 2 GiB of zeros (zstd, xz, bzip2, lz4) or 1 GiB (gzip, whose bomb is 1 MB per GiB), cached. */
function bomb(format: keyof typeof TOOLS): Buffer {
  const mib = format === 'gzip' ? 1024 : 2048;
  const dir = join(process.env.BTFWATCH_CACHE ?? join(homedir(), '.cache', 'btfwatch'), 'bombs');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `zeros-${mib}MiB.${format}`);
  if (!existsSync(path)) {
    note(`making a ${mib} MiB ${format} bomb`);
    execFileSync('sh', ['-c', `head -c ${mib * MiB} /dev/zero | ${TOOLS[format]} > '${path}.tmp'`]);
    renameSync(`${path}.tmp`, path);
  }
  return readFileSync(path);
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function startServe(dataDir: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--conditions=btfwatch-source', '--import', 'tsx', join(root, 'apps/cli/src/main.ts'), 'serve'],
    {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: '',
        REDIS_URL: '',
        LOG_LEVEL: 'info',
        BTFWATCH_RATE_LIMIT: '0',
        BTFWATCH_SCAN_INTERVAL: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not listen within 90 s')), 90_000);
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /"msg":"listening"/.test(line) ? /"url":"([^"]+)"/.exec(line) : null;
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    void exited.then(() => reject(new Error('serve exited before it listened')));
  });
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** /healthz every 20 ms until `stop` resolves; latencies in ms, and the RSS peak sampled beside them. */
async function probe(url: string, pid: number, stop: Promise<void>) {
  const latencies: number[] = [];
  let peak = 0;
  let done = false;
  void stop.then(() => (done = true));
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(`${url}/healthz`);
    await res.arrayBuffer();
    latencies.push(performance.now() - t0);
    peak = Math.max(peak, rssBytes(pid));
    await new Promise((r) => setTimeout(r, 20));
  }
  return { latencies, peak };
}

const bombs = Object.fromEntries(
  (Object.keys(TOOLS) as Array<keyof typeof TOOLS>).map((f) => [f, bomb(f)]),
) as Record<keyof typeof TOOLS, Buffer>;
const hostile: Array<{ name: string; init: () => [string, RequestInit] }> = [
  ...(Object.keys(bombs) as Array<keyof typeof TOOLS>).map((f) => ({
    name: `${f} bomb → POST /v1/btf`,
    init: (): [string, RequestInit] => [
      '/v1/btf',
      { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bombs[f] },
    ],
  })),
  {
    name: '8 MiB JSON → POST /v1/btf',
    init: () => [
      '/v1/btf',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(8 * MiB)}"` },
    ],
  },
  { name: 'NUL in a parameter', init: () => ['/v1/kernels?distro=%00', {}] },
  { name: 'leap second', init: () => ['/v1/alerts?since=2016-12-31T23:59:60Z', {}] },
];

const dir = mkdtempSync(join(tmpdir(), 'bw-hostile-'));
const serve = await startServe(dir);
try {
  note(`serve on ${serve.url} (pid ${serve.pid}); idle reference for 5 s`);
  await new Promise((r) => setTimeout(r, 3000));
  const idleRss = rssBytes(serve.pid);
  const idle = await probe(serve.url, serve.pid, new Promise((r) => setTimeout(r, 5000)));

  note(`${rounds} rounds × ${hostile.length} hostile requests from ${clients} clients`);
  const statuses = new Map<number, number>();
  let sent = 0;
  const attack = (async () => {
    const queue = Array.from({ length: rounds }, () => hostile).flat();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let h = queue.shift(); h; h = queue.shift()) {
          const [path, init] = h.init();
          const res = await fetch(`${serve.url}${path}`, init).catch(() => undefined);
          await res?.arrayBuffer().catch(() => undefined);
          const status = res?.status ?? 0;
          if (status >= 500 || status === 0) throw new Error(`${h.name}: ${status}`);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          sent++;
        }
      }),
    );
  })();
  const under = await probe(serve.url, serve.pid, attack);
  await attack;
  await new Promise((r) => setTimeout(r, 5000));
  const afterRss = rssBytes(serve.pid);

  const idleP99 = percentile(idle.latencies, 99);
  const underP99 = percentile(under.latencies, 99);
  printFigures({
    'hostile-requests': sent,
    statuses: [...statuses].map(([s, n]) => `${s}×${n}`).join(' '),
    'idle-rss-mb': fixed(idleRss / MiB, 1),
    'max-rss-delta-mb': fixed((Math.max(under.peak, idle.peak) - idleRss) / MiB, 1),
    'after-rss-delta-mb': fixed((afterRss - idleRss) / MiB, 1),
    'idle-healthz-p99-ms': fixed(idleP99, 1),
    'healthz-p99-ms': fixed(underP99, 1),
    'healthz-max-ms': fixed(Math.max(...under.latencies), 1),
    'healthz-p99-vs-idle': fixed(underP99 / idleP99, 2),
    'healthz-probes-under-attack': under.latencies.length,
  });
} finally {
  await serve.stop();
  rmSync(dir, { recursive: true, force: true });
}
