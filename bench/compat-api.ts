// GET /v1/compat under load, against a bare fastify route in the same process and run.
//   npm run bench -- compat-api [--seconds N] [--class-seconds N] [--connections N] [--urls N]
//                               [--keep-cache] [--rebuild] [--keep-db]
//
// Data: the pinned full Debian builds 6.1.0-55 and 6.1.0-56 (~4,000 modules each, real PostgreSQL),
// loaded by the real pipeline (bench/support/loaded-database.ts); this run works on a throwaway clone.
// Servers: the real API (buildApp, as `btfwatch api` builds it: openapi request and response validation,
// rate-limit plugin on with a limit never reached, info-level JSON request logs written asynchronously to
// /dev/null as the service's logger writes them, pool of 10 connections), twice on 127.0.0.1:
//   hot   as deployed: answers kept in memory (the response cache) while the kernel's verdicts, facts and
//         the module catalog are unchanged; kernel lookups reused for up to a second
//   cold  the cache off (responseCacheBytes 0): every request is answered from the database, validated
//         against openapi.yaml and serialized — what a first request, or one after a change, costs
// Load: autocannon in a child process, 10 connections, each request a random pick from a fixed list of
// realistic GETs:
//   module   /v1/compat?kernel=<id>&module=<name>                       (both builds' copies of a module)
//   sha      /v1/compat?kernel=<base BTF sha256>&module=<name>          (a host naming its booted kernel)
//   package  /v1/compat?kernel=<id>&package=<name>&version=<v>&limit=50[&cursor=<id>]
//   page     /v1/compat?kernel=<id>&limit=100[&cursor=<id>]             (walking every verdict)
//   btf      /v1/compat?kernel=<id>&btf=rejected&btf=corrupt&limit=100
// mixed 40/15/15/20/10. Every URL is requested once before timing (verdicts not stored yet are computed
// on that first request, as the API does: its latencies are printed apart), then up to 20 per class again
// one at a time on each server (latency without load), then a short unmeasured load warms the JIT.
// Reference: a bare fastify app in the same process (same logger), measured with the same generator,
// connections and duration: `bare` answers {"ok":true}; `bare-payload` answers a stored copy of a compat
// response of the mix's mean size, so its ratio isolates what the compat route costs beyond moving the
// bytes. Goals: compat mix (hot) ≥ 50% of the bare route's req/s, p99 < 25 ms. Then each class alone, hot
// and cold.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { destination, pino } from 'pino';
import { buildApp } from '@btfwatch/api';
import { loadConfig } from '@btfwatch/config';
import { kernelBuilds, openDatabase, queryRows, type DatabaseHandle } from '@btfwatch/db';
import { DbJobQueue } from '@btfwatch/worker';
import { sql } from 'drizzle-orm';
import { fixed, median, note, option, percentile, printFigures } from './support/figures.ts';
import { loadedDatabase } from './support/loaded-database.ts';
import { runLoad, type LoadResult } from './support/load-generator.ts';

const args = process.argv.slice(2);
const seconds = Number(option(args, 'seconds', '15'));
const classSeconds = Number(option(args, 'class-seconds', '6'));
const connections = Number(option(args, 'connections', '10'));
const urlCount = Number(option(args, 'urls', '300'));
const GOAL_RATIO = 0.5;
const GOAL_P99_MS = 25;

/** A load run plus this (server) process's CPU time per request; Postgres's CPU is not in it. */
interface Measured extends LoadResult {
  cpuMsPerRequest: number;
}

type UrlClass = 'module' | 'sha' | 'package' | 'page' | 'btf';
const MIX: Array<[UrlClass, number]> = [
  ['module', 0.4],
  ['sha', 0.15],
  ['package', 0.15],
  ['page', 0.2],
  ['btf', 0.1],
];

/** Deterministic choices, so every run asks the same questions. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const loaded = await loadedDatabase(args);
const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-api-'));
const figures: Record<string, string | number> = {};
let database: DatabaseHandle | undefined;
const closers: Array<() => Promise<unknown>> = [];
try {
  const config = loadConfig({
    DATA_DIR: work,
    DATABASE_URL: loaded.url,
    LOG_LEVEL: 'info',
    BTFWATCH_RATE_LIMIT: '10000000',
    PORT: '0',
  });
  const logger = pino({ level: 'info' }, destination({ dest: '/dev/null', sync: false }));
  database = await openDatabase({ url: loaded.url });
  const { db } = database;
  const deps = { config, database, queue: new DbJobQueue(db), logger, version: 'bench' };
  const app = await buildApp(deps);
  closers.push(() => app.close());
  const origin = await app.listen({ port: 0, host: '127.0.0.1' });
  const coldApp = await buildApp(deps, { responseCacheBytes: 0 });
  closers.push(() => coldApp.close());
  const coldOrigin = await coldApp.listen({ port: 0, host: '127.0.0.1' });

  // ---- the questions, from what is loaded
  const kernels = await db.select().from(kernelBuilds).orderBy(kernelBuilds.id);
  const names = (
    await queryRows<{ name: string }>(db, sql`select distinct name from module_builds order by name`)
  ).map((r) => r.name);
  const pkgs = await queryRows<{ name: string; version: string; first: number; last: number }>(
    db,
    sql`select p.name, p.version, min(m.id)::int as first, max(m.id)::int as last
          from packages p join module_builds m on m.package_sha256 = p.sha256
         group by p.name, p.version order by p.name`,
  );
  const idRange = await queryRows<{ first: number; last: number }>(
    db,
    sql`select min(id)::int as first, max(id)::int as last from module_builds`,
  );
  const { first, last } = idRange[0]!;
  const random = rng(20261201);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const between = (a: number, b: number) => a + Math.floor(random() * (b - a + 1));
  const make: Record<UrlClass, () => string> = {
    module: () => `/v1/compat?kernel=${pick(kernels).id}&module=${encodeURIComponent(pick(names))}`,
    sha: () => `/v1/compat?kernel=${pick(kernels).baseBtfSha256}&module=${encodeURIComponent(pick(names))}`,
    package: () => {
      const p = pick(pkgs);
      const cursor = random() < 0.25 ? '' : `&cursor=${between(p.first, p.last)}`;
      return `/v1/compat?kernel=${pick(kernels).id}&package=${encodeURIComponent(p.name)}&version=${encodeURIComponent(p.version)}&limit=50${cursor}`;
    },
    page: () => {
      const cursor = random() < 0.1 ? '' : `&cursor=${between(first, last)}`;
      return `/v1/compat?kernel=${pick(kernels).id}&limit=100${cursor}`;
    },
    btf: () => `/v1/compat?kernel=${pick(kernels).id}&btf=rejected&btf=corrupt&limit=100`,
  };
  const byClass = new Map<UrlClass, string[]>();
  for (const [cls, share] of MIX) {
    byClass.set(
      cls,
      Array.from({ length: Math.max(1, Math.round(urlCount * share)) }, () => make[cls]()),
    );
  }
  const mix = [...byClass.values()].flat();

  // ---- every URL once: correctness, on-demand verdicts stored, first-request latencies
  note(`first request of ${mix.length} URLs (computes verdicts not stored yet)`);
  const firstLatency = new Map<UrlClass, number[]>();
  const sizes: Array<{ bytes: number; body: string }> = [];
  for (const [cls, urls] of byClass) {
    for (const url of urls) {
      const start = performance.now();
      const res = await fetch(`${origin}${url}`);
      const body = await res.text();
      const ms = performance.now() - start;
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${body.slice(0, 300)}`);
      const parsed = JSON.parse(body) as { items: unknown[] };
      if (cls !== 'btf' && parsed.items.length === 0 && !url.includes('cursor='))
        throw new Error(`${url}: no verdicts`);
      (firstLatency.get(cls) ?? firstLatency.set(cls, []).get(cls)!).push(ms);
      sizes.push({ bytes: Buffer.byteLength(body), body });
    }
  }
  // Stored verdicts now: one request at a time, no load (up to 20 URLs per class), on each server.
  const oneAtATime = async (o: string) => {
    const out = new Map<UrlClass, number[]>();
    for (const [cls, urls] of byClass) {
      const ms: number[] = [];
      for (const url of urls.slice(0, 20)) {
        const start = performance.now();
        const res = await fetch(`${o}${url}`);
        await res.arrayBuffer();
        ms.push(performance.now() - start);
      }
      out.set(cls, ms);
    }
    return out;
  };
  const warmLatency = await oneAtATime(origin);
  const coldLatency = await oneAtATime(coldOrigin);
  const meanBytes = sizes.reduce((n, s) => n + s.bytes, 0) / sizes.length;
  const representative = sizes.reduce((a, b) =>
    Math.abs(b.bytes - meanBytes) < Math.abs(a.bytes - meanBytes) ? b : a,
  );

  // ---- the reference: bare fastify, same process, same logger
  const bare = Fastify({ loggerInstance: logger.child({ component: 'bare' }) as FastifyBaseLogger });
  closers.push(() => bare.close());
  bare.get('/bare', async () => ({ ok: true }));
  bare.get('/bare-payload', async (_req, reply) =>
    reply.type('application/json; charset=utf-8').send(representative.body),
  );
  const bareOrigin = await bare.listen({ port: 0, host: '127.0.0.1' });

  const load = async (label: string, o: string, paths: string[], s: number): Promise<Measured> => {
    const cpu = process.cpuUsage();
    const r = await runLoad({ origin: o, paths, connections, durationSeconds: s });
    const used = process.cpuUsage(cpu);
    if (r.non2xx + r.errors + r.timeouts > 0)
      throw new Error(`${label}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
    note(
      `${label}: ${r.rps.toFixed(0)} req/s, p50 ${r.latencyP50} ms, p99 ${r.latencyP99} ms, ` +
        `server CPU ${((used.user + used.system) / 1000 / Math.max(1, r.requests)).toFixed(2)} ms/req`,
    );
    return { ...r, cpuMsPerRequest: (used.user + used.system) / 1000 / Math.max(1, r.requests) };
  };

  note('warming up (unmeasured)');
  await runLoad({ origin, paths: mix, connections, durationSeconds: 3 });
  await runLoad({ origin: coldOrigin, paths: mix, connections, durationSeconds: 3 });
  await runLoad({ origin: bareOrigin, paths: ['/bare', '/bare-payload'], connections, durationSeconds: 2 });

  const bareTrivial = await load('bare', bareOrigin, ['/bare'], seconds);
  const barePayload = await load('bare-payload', bareOrigin, ['/bare-payload'], seconds);
  const cache = app.compatCache.responses;
  const before = { hits: cache.hits, misses: cache.misses };
  const compat = await load('compat mix (hot)', origin, mix, seconds);
  const during = { hits: cache.hits - before.hits, misses: cache.misses - before.misses };
  const cold = await load('compat mix (cold)', coldOrigin, mix, seconds);
  const classes = new Map<UrlClass, Measured>();
  const coldClasses = new Map<UrlClass, Measured>();
  for (const [cls, urls] of byClass) {
    classes.set(cls, await load(`compat ${cls} (hot)`, origin, urls, classSeconds));
    coldClasses.set(cls, await load(`compat ${cls} (cold)`, coldOrigin, urls, classSeconds));
  }

  const [m55, m56] = kernels;
  const moduleCount = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from module_builds`);
  const verdictCount = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from verdicts`);
  Object.assign(figures, {
    'kernel builds': kernels.map((k) => `${k.id}=${k.release} (${k.version})`).join(', '),
    'module builds': moduleCount[0]!.n,
    'verdicts stored (after the first requests)': verdictCount[0]!.n,
    'distinct URLs (module/sha/package/page/btf)': MIX.map(([c]) => byClass.get(c)!.length).join('/'),
    connections,
    'seconds per run (mix, bare)': seconds,
    'seconds per class run': classSeconds,
    'mean response KB (mix)': fixed(meanBytes / 1e3, 1),
    'bare-payload response KB': fixed(representative.bytes / 1e3, 1),
  });
  for (const [cls, ms] of firstLatency) {
    figures[`first request ${cls} median ms`] = fixed(median(ms), 1);
    figures[`first request ${cls} max ms`] = fixed(Math.max(...ms), 1);
  }
  for (const [cls, ms] of warmLatency) figures[`one at a time ${cls} (hot) median ms`] = fixed(median(ms), 1);
  for (const [cls, ms] of coldLatency)
    figures[`one at a time ${cls} (cold) median ms`] = fixed(median(ms), 1);
  const row = (label: string, r: Measured) => {
    if (r.requests === 0) {
      figures[`${label} req/s`] = `0 (no request completed in the run)`;
      return;
    }
    figures[`${label} req/s`] = fixed(r.rps, 0);
    figures[`${label} p50 ms`] = r.latencyP50;
    figures[`${label} p90 ms`] = r.latencyP90;
    figures[`${label} p99 ms`] = r.latencyP99;
    figures[`${label} max ms`] = r.latencyMax;
    figures[`${label} KB per response`] = fixed(r.bytesPerRequest / 1e3, 1);
    figures[`${label} server CPU ms per request`] = fixed(r.cpuMsPerRequest, 3);
  };
  row('bare', bareTrivial);
  row('bare-payload', barePayload);
  row('compat mix (hot)', compat);
  row('compat mix (cold)', cold);
  for (const [cls, r] of classes) {
    row(`compat ${cls} (hot)`, r);
    row(`compat ${cls} (cold)`, coldClasses.get(cls)!);
  }
  Object.assign(figures, {
    'response cache hits / misses during the hot mix': `${during.hits} / ${during.misses}`,
    'response cache entries / MB after the run': `${cache.size.entries} / ${fixed(cache.size.bytes / 1e6, 1)}`,
    'compat mix (hot) / bare req/s': fixed(compat.rps / bareTrivial.rps),
    'compat mix (hot) / bare-payload req/s': fixed(compat.rps / barePayload.rps),
    'compat mix (cold) / bare req/s': fixed(cold.rps / bareTrivial.rps),
    'compat mix (cold) / bare-payload req/s': fixed(cold.rps / barePayload.rps),
    'compat mix (hot) / (cold) req/s': fixed(compat.rps / Math.max(cold.rps, 1e-9)),
    'goal ratio': fixed(GOAL_RATIO),
    'goal ratio met (hot mix / bare)': compat.rps / bareTrivial.rps >= GOAL_RATIO ? 'yes' : 'no',
    'compat mix (hot) p99 ms': compat.latencyP99,
    'compat mix (cold) p99 ms': cold.latencyP99,
    'goal p99 ms': GOAL_P99_MS,
    'compat mix (hot) p99 / goal': fixed(compat.latencyP99 / GOAL_P99_MS),
    'compat mix (cold) p99 / goal': fixed(cold.latencyP99 / GOAL_P99_MS),
    'goal p99 met (hot mix)': compat.latencyP99 < GOAL_P99_MS ? 'yes' : 'no',
    'compat module (hot) p99 / goal': fixed(classes.get('module')!.latencyP99 / GOAL_P99_MS),
    'compat module (cold) p99 / goal': fixed(coldClasses.get('module')!.latencyP99 / GOAL_P99_MS),
    'first requests p99 ms (all classes)': fixed(percentile([...firstLatency.values()].flat(), 99), 1),
    'kernels asked': `${m55?.release}, ${m56?.release}`,
    'cores (shared machine: figures indicative)': availableParallelism(),
  });
} finally {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await database?.close();
  await loaded.drop();
  rmSync(work, { recursive: true, force: true });
}
printFigures(figures);
