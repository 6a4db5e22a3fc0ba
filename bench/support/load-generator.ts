// autocannon in its own process, so the load generator does not share the server's event loop.
//   node --import tsx bench/support/load-generator.ts '<LoadSpec JSON>'  → prints a LoadResult JSON line
// Each request picks one of `paths` at random (every connection walks the mix in its own order).
import { spawn } from 'node:child_process';
import autocannon from 'autocannon';

export interface LoadSpec {
  /** http://127.0.0.1:<port> */
  origin: string;
  paths: string[];
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  /** Mean requests per second over the run. */
  rps: number;
  latencyP50: number;
  latencyP90: number;
  latencyP99: number;
  latencyMax: number;
  latencyMean: number;
  bytesPerRequest: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Runs one load in a child process and returns what autocannon measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', new URL(import.meta.url).pathname, JSON.stringify(spec)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

async function main(spec: LoadSpec): Promise<void> {
  const { paths } = spec;
  const result = await autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: 30,
    requests: [
      {
        method: 'GET',
        setupRequest: (request) => ({
          ...request,
          path: paths[Math.floor(Math.random() * paths.length)]!,
        }),
      },
    ],
  });
  const total = result.requests.total;
  const out: LoadResult = {
    requests: total,
    rps: total / result.duration,
    latencyP50: result.latency.p50,
    latencyP90: result.latency.p90,
    latencyP99: result.latency.p99,
    latencyMax: result.latency.max,
    latencyMean: result.latency.mean,
    bytesPerRequest: result.throughput.total / Math.max(1, total),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
  console.log(JSON.stringify(out));
}

if (process.argv[1] === new URL(import.meta.url).pathname)
  await main(JSON.parse(process.argv[2]!) as LoadSpec);
