// Does the API answer while the embedded service ingests? `btfwatch serve` (embedded: PGlite, in-process
// jobs, the tsc build) holds one kernel build already (the pinned cloud-amd64 image); then, from a second
// loopback mirror, a whole linux-image (~70 MB, ~4,000 modules) is scanned, ingested and evaluated. Meanwhile
// this process probes the API open-loop (a request every --every ms whether or not the last one answered,
// latency counted from when it was due, so a stalled loop shows as the stall it is):
//   healthz  GET /healthz
//   compat   GET /v1/compat?kernel=<the held kernel>&module=<one of its modules, at random>
// The reference in the same run: the same probes for the same time with no ingest running (before it).
//   npm run bench -- api-under-ingest [--every 50] [--baseline-seconds 20] [--port 18620]
// Goals (issue 17): under ingest, /healthz p99 < 50 ms and compat reads p99 < 200 ms.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { fixed, note, option, percentile, printFigures } from './support/figures.ts';
import {
  BENCH_TOKEN,
  addAndScan,
  api,
  startMirrorProcess,
  startServe,
  waitQuiet,
  type ServedMirror,
} from './support/service.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const everyMs = Number(option(args, 'every', '50'));
const baselineSeconds = Number(option(args, 'baseline-seconds', '20'));
const port = Number(option(args, 'port', '18620'));
const HELD = 'linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb';
const INGESTED = 'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb';
const SUITE = 'bookworm-security';
const GOALS = { healthz: 50, compat: 200 };

interface Probe {
  latencies: number[];
  errors: number;
  stop(): Promise<void>;
}

const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

/** Issues `path()` every `everyMs` (open loop); each latency is measured from the moment it was due. */
function probe(origin: string, path: () => string): Probe {
  const latencies: number[] = [];
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  const fire = () => {
    const due = performance.now();
    const p = fetch(`${origin}${path()}`, {
      headers: { authorization: `Bearer ${BENCH_TOKEN}` },
      dispatcher: agent,
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) errors++;
        latencies.push(performance.now() - due);
      })
      .catch((err: unknown) => {
        if (errors++ === 0) note(`probe ${path()}: ${String(err)}`);
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  const timer = setInterval(fire, everyMs);
  return {
    latencies,
    get errors() {
      return errors;
    },
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inflight]);
    },
  };
}

const fetched = execFileSync(join(root, 'test/fixtures/fetch-packages.sh'), [HELD, INGESTED], {
  encoding: 'utf8',
})
  .trim()
  .split('\n');
const heldPkg = fetched.find((p) => p.endsWith(HELD))!;
const ingestPkg = fetched.find((p) => p.endsWith(INGESTED))!;
note('building (tsc -b)');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], {
  cwd: root,
  stdio: 'inherit',
});

const mirrors: ServedMirror[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'btfw-embedded-under-ingest-'));
const serve = await startServe(port, { DATA_DIR: dataDir });
try {
  const held = await startMirrorProcess(SUITE, [heldPkg]);
  mirrors.push(held);
  note(`ingesting the held kernel ${HELD}`);
  await addAndScan(serve.origin, held, SUITE, readFileSync(held.armoredPublicKeyPath, 'utf8'));
  const before = await waitQuiet(serve.origin);
  const evaluationsBefore = before.filter(
    (j) => j.name === 'evaluate-kernel' && j.state === 'completed',
  ).length;
  const kernels = await api<{ items: Array<{ id: number }> }>(serve.origin, 'GET', '/v1/kernels');
  const kernel = kernels.items[0]!.id;
  const page = await api<{ items: Array<{ module: { name: string } }> }>(
    serve.origin,
    'GET',
    `/v1/compat?kernel=${kernel}&limit=500`,
  );
  const names = [...new Set(page.items.map((i) => i.module.name))];
  note(`kernel ${kernel}: ${names.length} module names to read`);
  const compatPath = () =>
    `/v1/compat?kernel=${kernel}&module=${encodeURIComponent(names[Math.floor(Math.random() * names.length)]!)}`;

  const measure = async (label: string, until: () => Promise<unknown>) => {
    const h = probe(serve.origin, () => '/healthz');
    const c = probe(serve.origin, compatPath);
    const started = performance.now();
    await until();
    const seconds = (performance.now() - started) / 1000;
    await Promise.all([h.stop(), c.stop()]);
    note(
      `${label}: ${fixed(seconds, 1)} s, ${h.latencies.length} + ${c.latencies.length} answers, ${h.errors} + ${c.errors} errors`,
    );
    return { h, c, seconds };
  };
  const quiet = await measure('no ingest', () => new Promise((r) => setTimeout(r, baselineSeconds * 1000)));

  const ingest = await startMirrorProcess(SUITE, [ingestPkg]);
  mirrors.push(ingest);
  note(`ingesting ${INGESTED} while probing`);
  const loaded = await measure('under ingest', async () => {
    await addAndScan(serve.origin, ingest, SUITE, readFileSync(ingest.armoredPublicKeyPath, 'utf8'));
    await waitQuiet(serve.origin, evaluationsBefore + 1);
  });

  const figures: Record<string, string | number> = {
    probe_interval_ms: everyMs,
    baseline_s: fixed(quiet.seconds, 1),
    ingest_s: fixed(loaded.seconds, 1),
    load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
  for (const [name, q, l] of [
    ['healthz', quiet.h, loaded.h],
    ['compat', quiet.c, loaded.c],
  ] as const) {
    for (const [when, p] of [
      ['idle', q],
      ['ingest', l],
    ] as const) {
      figures[`${name}_${when}_requests`] = p.latencies.length;
      figures[`${name}_${when}_errors`] = p.errors;
      figures[`${name}_${when}_p50_ms`] = fixed(percentile(p.latencies, 50), 1);
      figures[`${name}_${when}_p99_ms`] = fixed(percentile(p.latencies, 99), 1);
      figures[`${name}_${when}_max_ms`] = fixed(Math.max(...p.latencies), 1);
    }
    const p99 = percentile(l.latencies, 99);
    figures[`ratio_${name}_p99_ingest_to_idle`] = fixed(p99 / percentile(q.latencies, 99), 1);
    figures[`${name}_meets_p99_goal_${GOALS[name]}ms`] = p99 < GOALS[name] ? 'yes' : 'no';
  }
  printFigures(figures);
} catch (e) {
  note(`serve stderr: ${serve.stderr().slice(-3000)}`);
  throw e;
} finally {
  await serve.stop();
  for (const m of mirrors) m.close();
  await agent.close();
  rmSync(dataDir, { recursive: true, force: true });
}
