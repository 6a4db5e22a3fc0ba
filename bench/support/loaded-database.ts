// A Postgres database loaded the way production loads it: two real Debian kernel builds (the pinned full
// linux-image-6.1.0-55/56-amd64-unsigned packages, ~4,000 modules each, plus their linux-headers for
// Module.symvers) published on the loopback apt mirror and taken in by the real pipeline — the API adds
// the mirror and triggers scans, BullMQ workers on the local Redis run scan-mirror, ingest-package and
// evaluate-kernel — one build after the other, so each build's growth can be measured on its own.
//
// Loading takes minutes, so the loaded database can be kept as a template (`create database … template`)
// named after a hash of the migrations, the pinned package hashes and LOADER_VERSION; each bench works on a
// throwaway clone of it. Flags every bench using this accepts:
//   --keep-cache  keep the template after this run (a template that already exists is always reused)
//   --rebuild     drop the template for this key and load again
//   --drop-cache  drop every bench template and exit
//   --keep-db     keep this run's clone (its URL is printed)
// Environment: BENCH_POSTGRES_URL (or TEST_POSTGRES_URL) admin connection, TEST_REDIS_URL, BENCH_LOG_LEVEL.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import pg from 'pg';
import { destination, pino } from 'pino';
import { buildApp } from '@btfwatch/api';
import { loadConfig } from '@btfwatch/config';
import { migrateDatabase, migrationsFolder, openDatabase } from '@btfwatch/db';
import { JOB_NAMES } from '@btfwatch/jobs';
import { BullmqJobQueue, buildProcessorSet, startBullmqWorkers } from '@btfwatch/worker';
import type { JobInfo } from '@btfwatch/jobs';
import { flag, note } from './figures.ts';
import { startAptMirror } from './mirror.ts';
import { blobStats, tableSizes, type BlobStats, type TableSize } from './sizes.ts';

/** Bump when the way the database is loaded changes (so old templates are not reused). */
const LOADER_VERSION = 1;

export const ROOT = new URL('../../', import.meta.url).pathname;
export const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ??
  process.env.TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TEMPLATE_PREFIX = 'btfwatch_bench_tpl_';
const SUITE = 'bookworm-security';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';

export interface KernelFixture {
  release: string;
  version: string;
  /** File names as pinned in test/fixtures/packages.lock. */
  files: string[];
}

/** Loaded in this order; the second is the "new upload" of the same flavour. */
export const KERNEL_BUILDS: KernelFixture[] = [
  {
    release: '6.1.0-55-amd64',
    version: '6.1.192-1',
    files: [
      'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb',
      'linux-headers-6.1.0-55-amd64_6.1.192-1_amd64.deb',
    ],
  },
  {
    release: '6.1.0-56-amd64',
    version: '6.1.192-2',
    files: [
      'linux-image-6.1.0-56-amd64-unsigned_6.1.192-2_amd64.deb',
      'linux-headers-6.1.0-56-amd64_6.1.192-2_amd64.deb',
    ],
  },
];

export interface StageJob {
  name: string;
  id: string;
  /** The package an ingest took in, the kernel build an evaluation was for. */
  label: string;
  /** Enqueued → finished. */
  seconds: number;
  result: Record<string, unknown> | null;
}

export interface LoadStage {
  release: string;
  version: string;
  packages: Array<{ file: string; bytes: number }>;
  /** Scan requested → queue quiet (scan, every ingest and evaluation the stage caused). */
  seconds: number;
  tables: TableSize[];
  blobs: BlobStats[];
  jobs: StageJob[];
}

export interface LoadMeta {
  key: string;
  builtAt: string;
  cores: number;
  /** After migrations and the mirror row, before any package. */
  baseline: TableSize[];
  stages: LoadStage[];
}

export interface LoadedDatabase {
  /** Connection URL of this run's clone. */
  url: string;
  name: string;
  template: string;
  /** The template existed before this run. */
  reused: boolean;
  meta: LoadMeta;
  /** Drops the clone (unless --keep-db) and a template built by this run (unless --keep-cache). */
  drop(): Promise<void>;
}

function dbUrl(name: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name: string): string => {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unsafe database name ${name}`);
  return name;
};

/** Paths of the pinned packages, downloaded into the cache by fetch-packages.sh if missing. */
export function pinnedPackages(files: string[]): string[] {
  const out = execFileSync(join(ROOT, 'test/fixtures/fetch-packages.sh'), files, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const paths = out.trim().split('\n').filter(Boolean);
  return files.map((f) => {
    const p = paths.find((x) => x.endsWith(`/${f}`));
    if (!p) throw new Error(`fetch-packages.sh did not provide ${f}`);
    return p;
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]))
    .sort();
}

/** Hash of what determines the loaded contents: migrations, the pinned packages, the loader itself. */
export function cacheKey(): string {
  const h = createHash('sha256').update(`loader ${LOADER_VERSION}\n`);
  for (const f of listFiles(migrationsFolder)) {
    h.update(f.slice(migrationsFolder.length)).update(readFileSync(f));
  }
  const lock = readFileSync(join(ROOT, 'test/fixtures/packages.lock'), 'utf8').split('\n');
  for (const file of KERNEL_BUILDS.flatMap((k) => k.files)) {
    const line = lock.find((l) => l.includes(`/${file} `) || l.includes(`/${file}\t`));
    if (!line) throw new Error(`${file} is not pinned in packages.lock`);
    h.update(line.trim().split(/\s+/).pop()!);
  }
  return h.digest('hex').slice(0, 12);
}

async function templateMeta(template: string): Promise<LoadMeta | undefined> {
  return admin(async (c) => {
    const { rows } = await c.query<{ comment: string | null }>(
      `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
      [template],
    );
    if (rows.length === 0) return undefined;
    try {
      return JSON.parse(rows[0]?.comment ?? '') as LoadMeta;
    } catch {
      return undefined;
    }
  });
}

async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`drop database if exists ${ident(name)} with (force)`));
}

async function dropTemplates(except?: string): Promise<string[]> {
  const names = await admin(async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      `select datname from pg_database where datname like $1`,
      [`${TEMPLATE_PREFIX}%`],
    );
    return rows.map((r) => r.datname).filter((n) => n !== except);
  });
  for (const n of names) {
    await admin((c) => c.query(`alter database ${ident(n)} is_template false`));
    await dropDatabase(n);
  }
  return names;
}

async function waitForQuiet(queue: BullmqJobQueue, label: string): Promise<void> {
  let quiet = 0;
  let lastNote = Date.now();
  while (quiet < 3) {
    const c = await queue.counts();
    quiet = c.active + c.waiting + c.delayed === 0 ? quiet + 1 : 0;
    if (Date.now() - lastNote > 15_000) {
      lastNote = Date.now();
      const active = await queue.list({ states: ['active'], limit: 10 });
      note(
        `${label}: ${active.map((j) => `${j.name} ${JSON.stringify(j.progress ?? {})}`).join('; ') || 'waiting'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stageJob(j: JobInfo): StageJob {
  const label =
    j.name === 'ingest-package'
      ? String(j.data.name)
      : j.name === 'evaluate-kernel'
        ? `kernel build ${String(j.data.kernelBuildId)}`
        : j.name;
  return {
    name: j.name,
    id: j.id,
    label,
    seconds: j.finishedAt ? (j.finishedAt.getTime() - j.createdAt.getTime()) / 1000 : Number.NaN,
    result: j.result,
  };
}

/** Loads every kernel build through the real pipeline into `name`, measuring after each build. */
async function load(name: string, key: string): Promise<LoadMeta> {
  const url = dbUrl(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'btfwatch-bench-load-'));
  const prefix = `btfwatch-bench-${randomBytes(5).toString('hex')}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: url,
    REDIS_URL,
    BTFWATCH_QUEUE_PREFIX: prefix,
    BTFWATCH_ADMIN_TOKEN: ADMIN_TOKEN,
    BTFWATCH_RATE_LIMIT: '0',
    BTFWATCH_SCAN_INTERVAL: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  });
  const logger = pino({ level: config.logLevel }, destination(2));
  const database = await openDatabase({ url });
  const closers: Array<() => Promise<unknown>> = [() => database.close()];
  const packagesByBuild = KERNEL_BUILDS.map((k) => pinnedPackages(k.files));
  try {
    await migrateDatabase(database);
    const queue = new BullmqJobQueue({ url: REDIS_URL, prefix });
    closers.unshift(async () => {
      for (const n of JOB_NAMES) {
        const q = new Queue(n, { connection: { url: REDIS_URL }, prefix });
        await q.obliterate({ force: true });
        await q.close();
      }
    });
    closers.unshift(() => queue.close());
    const deps = { config, database, queue, logger, now: () => new Date() };
    const set = buildProcessorSet(deps);
    closers.unshift(() => set.close());
    const workers = startBullmqWorkers(
      {
        url: REDIS_URL,
        prefix,
        concurrency: config.workerConcurrency,
        name: 'bench-loader',
        lockMs: config.jobLockMs,
      },
      set.processors,
      logger,
    );
    closers.unshift(() => workers.close());
    const app = await buildApp({ ...deps, version: 'bench' });
    closers.unshift(() => app.close());
    await app.ready();
    const mirror = await startAptMirror(SUITE, packagesByBuild[0]!);
    closers.unshift(() => mirror.close());

    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const added = await app.inject({
      method: 'POST',
      url: '/v1/mirrors',
      headers: auth,
      payload: {
        kind: 'apt',
        url: mirror.aptUrl,
        suites: [SUITE],
        keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
      },
    });
    if (added.statusCode !== 201) throw new Error(`adding the mirror failed: ${added.body}`);
    const mirrorId = (added.json() as { id: number }).id;

    const meta: LoadMeta = {
      key,
      builtAt: new Date().toISOString(),
      cores: availableParallelism(),
      baseline: await tableSizes(url),
      stages: [],
    };
    const seen = new Set<string>();
    for (const [i, build] of KERNEL_BUILDS.entries()) {
      const published = packagesByBuild.slice(0, i + 1).flat();
      if (i > 0) await mirror.update({ apt: { suites: { [SUITE]: { packages: published } } } });
      note(`loading ${build.release} (${build.version}) through scan → ingest → evaluate`);
      const start = performance.now();
      const scan = await app.inject({ method: 'POST', url: `/v1/mirrors/${mirrorId}/scan`, headers: auth });
      if (scan.statusCode >= 300) throw new Error(`scan request failed: ${scan.body}`);
      await waitForQuiet(queue, build.release);
      const seconds = (performance.now() - start) / 1000;
      const all = await queue.list({ limit: 1000 });
      const failed = all.filter((j) => j.state === 'failed');
      if (failed.length > 0)
        throw new Error(`jobs failed while loading: ${failed.map((j) => `${j.id}: ${j.error}`).join('; ')}`);
      const jobs = all.filter((j) => !seen.has(j.id)).map(stageJob);
      for (const j of jobs) seen.add(j.id);
      const ingests = jobs.filter((j) => j.name === 'ingest-package');
      if (ingests.length !== build.files.length)
        throw new Error(`expected ${build.files.length} ingests for ${build.release}, saw ${ingests.length}`);
      meta.stages.push({
        release: build.release,
        version: build.version,
        packages: packagesByBuild[i]!.map((p) => ({ file: p.split('/').pop()!, bytes: statSync(p).size })),
        seconds,
        tables: await tableSizes(url),
        blobs: await blobStats(url),
        jobs,
      });
      note(`${build.release} loaded in ${seconds.toFixed(0)} s`);
    }
    return meta;
  } finally {
    for (const close of closers) await close().catch((err: unknown) => note(`cleanup: ${String(err)}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A throwaway clone of the loaded template (loading it first if no template exists for the current
 * key). Reads the flags described at the top of this file from `args`.
 */
export async function loadedDatabase(args: readonly string[]): Promise<LoadedDatabase> {
  if (flag(args, 'drop-cache')) {
    const dropped = await dropTemplates();
    note(`dropped ${dropped.length} bench template(s): ${dropped.join(', ') || '(none)'}`);
    process.exit(0);
  }
  const key = cacheKey();
  const template = `${TEMPLATE_PREFIX}${key}`;
  const keepCache = flag(args, 'keep-cache') || process.env.BTFWATCH_BENCH_KEEP_CACHE === '1';
  if (flag(args, 'rebuild')) await dropTemplates();
  let meta = await templateMeta(template);
  const reused = meta !== undefined;
  if (!meta) {
    const stale = await dropTemplates(template);
    if (stale.length) note(`dropped stale bench templates: ${stale.join(', ')}`);
    const building = `btfwatch_bench_load_${randomBytes(5).toString('hex')}`;
    await admin((c) => c.query(`create database ${ident(building)}`));
    try {
      meta = await load(building, key);
      // As autovacuum would shortly after a load: fresh statistics, dead tuples (from the build-base
      // update after inserting module rows) marked reusable. Sizes were measured before this.
      const c = new pg.Client({ connectionString: dbUrl(building) });
      await c.connect();
      await c.query('vacuum analyze');
      await c.end();
      await admin(async (a) => {
        await a.query(`alter database ${ident(building)} rename to ${ident(template)}`);
        await a.query(`comment on database ${ident(template)} is ${pg.escapeLiteral(JSON.stringify(meta))}`);
        await a.query(`alter database ${ident(template)} is_template true`);
      });
    } catch (err) {
      await dropDatabase(building);
      throw err;
    }
  } else {
    note(`reusing template ${template} (loaded ${meta.builtAt}; --rebuild to load again)`);
  }

  const name = `btfwatch_bench_${randomBytes(5).toString('hex')}`;
  const cloneStart = performance.now();
  await admin((c) =>
    c.query(`create database ${ident(name)} template ${ident(template)} strategy file_copy`),
  );
  note(`cloned ${template} → ${name} in ${((performance.now() - cloneStart) / 1000).toFixed(1)} s`);
  const keepDb = flag(args, 'keep-db');
  const builtNow = !reused;
  return {
    url: dbUrl(name),
    name,
    template,
    reused,
    meta,
    drop: async () => {
      if (keepDb) note(`kept ${dbUrl(name)}`);
      else await dropDatabase(name);
      if (builtNow && !keepCache) {
        await admin((c) => c.query(`alter database ${ident(template)} is_template false`));
        await dropDatabase(template);
      } else note(`template ${template} kept for the next run (--drop-cache removes it)`);
    },
  };
}
