// End to end, as a user runs it: one real linux-image .deb (~70 MB, ~4,000 modules, pinned in
// test/fixtures/packages.lock, cached by test/fixtures/fetch-packages.sh) published by the loopback apt mirror
// (its own process) and taken through download → extract → store → evaluate
//   1. by the CLI: `btfwatch scan` (embedded PGlite under a fresh DATA_DIR), a fresh process;
//   2. by the service: `btfwatch serve` (embedded), POST /v1/mirrors + /scan, until the queue is quiet;
//   3. the same through `serve` with Postgres + Redis (DATABASE_URL/REDIS_URL), unless --no-distributed;
// against `dpkg-deb --fsys-tarfile PKG > /dev/null` of the same file in the same run (the decompression floor).
//   npm run bench -- scan-e2e [--runs N] [--no-distributed] [--port 18610]
// Wall: CLI from exec to exit (node start, database open and migrations included); service from POST to a
// quiet queue. CPU: every process of the tree (GNU time for one-shot commands; /proc deltas for `serve`).
// Peak RSS: the sum over the process tree (node, its xz children), sampled from /proc every 50 ms.
// DB bytes added: the data directory's pgdata (embedded) or pg_database_size (Postgres), after − before.
// Phase ends (scan, ingest, evaluate) come from the job rows: where the seconds above dpkg-deb go.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { fixed, flag, median, note, option, printFigures } from './support/figures.ts';
import { sampleTree, treeCpuMs } from './support/process-tree.ts';
import { directoryBytes } from './support/sizes.ts';
import {
  addAndScan,
  cli,
  startMirrorProcess,
  startServe,
  waitQuiet,
  type JobTimes,
  type ServeProcess,
  type ServedMirror,
} from './support/service.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const runs = Number(option(args, 'runs', '1'));
const port = Number(option(args, 'port', '18610'));
const PACKAGE = 'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb';
const SUITE = 'bookworm-security';
const GOAL_RATIO = 3;
const GOAL_RSS_MB = 512;
const GOAL_IDLE_MB = 250;
const POSTGRES = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Timed {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  atPeak: string;
}

/** A one-shot command under GNU time (CPU of it and every child it waited for), its tree's RSS sampled. */
async function timed(
  cmd: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  stdout: 'ignore' | 'pipe' = 'pipe',
): Promise<Timed & { out: string; err: string; code: number | null }> {
  const timesFile = join(mkdtempSync(join(tmpdir(), 'btfw-embedded-time-')), 'times');
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S', '-o', timesFile, cmd, ...argv], {
    cwd: root,
    env,
    stdio: ['ignore', stdout, 'pipe'],
  });
  const sampler = sampleTree(child.pid!);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  sampler.stop();
  const times = readFileSync(timesFile, 'utf8');
  rmSync(join(timesFile, '..'), { recursive: true, force: true });
  const [user, sys] = times.trim().split(/\s+/).map(Number);
  return {
    wallS: (performance.now() - started) / 1000,
    cpuS: (user ?? NaN) + (sys ?? NaN),
    peakRssMb: sampler.peakBytes() / 1e6,
    atPeak: sampler.atPeak(),
    out,
    err,
    code,
  };
}

async function dpkgDeb(pkg: string): Promise<Timed> {
  const r = await timed('sh', ['-c', `dpkg-deb --fsys-tarfile "$0" > /dev/null`, pkg], process.env);
  if (r.code !== 0) throw new Error(`dpkg-deb failed: ${r.err}`);
  return r;
}

interface Phases {
  scanS: number;
  ingestS: number;
  evaluateS: number;
  jobs: number;
  failed: number;
}

/** Phase ends from job rows, relative to `startMs` (epoch ms). */
function phases(jobs: JobTimes[], startMs: number): Phases {
  const end = (name: string) =>
    Math.max(
      startMs,
      ...jobs.filter((j) => j.name === name && j.finishedAt).map((j) => Date.parse(j.finishedAt!)),
    );
  const scan = end('scan-mirror');
  const ingest = end('ingest-package');
  const evaluate = end('evaluate-kernel');
  return {
    scanS: (scan - startMs) / 1000,
    ingestS: (ingest - scan) / 1000,
    evaluateS: (evaluate - ingest) / 1000,
    jobs: jobs.length,
    failed: jobs.filter((j) => j.state === 'failed').length,
  };
}

async function embeddedJobs(dataDir: string): Promise<JobTimes[]> {
  const { openDatabase, jobs } = await import('@btfwatch/db');
  const handle = await openDatabase({ dataDir });
  try {
    const rows = await handle.db.select().from(jobs);
    return rows.map((r) => ({
      name: r.name,
      state: r.state,
      createdAt: r.createdAt.toISOString(),
      finishedAt: r.finishedAt?.toISOString() ?? null,
    }));
  } finally {
    await handle.close();
  }
}

interface Run extends Timed, Phases {
  dbBytesAdded: number;
  idleRssMb?: number;
  modules?: number;
}

async function cliScan(mirror: ServedMirror): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'btfw-embedded-e2e-cli-'));
  try {
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn' };
    const migrated = spawnSync(process.execPath, [cli, 'migrate'], { cwd: root, env, encoding: 'utf8' });
    if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
    const before = directoryBytes(join(dataDir, 'pgdata'));
    const startMs = Date.now();
    const r = await timed(
      process.execPath,
      [cli, 'scan', '--apt', mirror.aptUrl, '--suite', SUITE, '--keyring', mirror.publicKeyPath],
      env,
    );
    if (r.code !== 0) throw new Error(`btfwatch scan exited ${r.code}: ${r.err.slice(-2000)}`);
    process.stderr.write(r.out);
    const added = directoryBytes(join(dataDir, 'pgdata')) - before;
    const jobs = await embeddedJobs(dataDir);
    const modules = Number(/^module builds: (\d+)/m.exec(r.out)?.[1] ?? NaN);
    return { ...r, ...phases(jobs, startMs), dbBytesAdded: added, modules };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function serveScan(mirror: ServedMirror, distributed: boolean): Promise<Run> {
  const dataDir = mkdtempSync(join(tmpdir(), 'btfw-embedded-e2e-serve-'));
  const dbName = `btfw_embedded_bench_${process.pid}_${Date.now()}`;
  const admin = distributed ? new pg.Client({ connectionString: POSTGRES }) : undefined;
  if (admin) {
    await admin.connect();
    await admin.query(`create database ${dbName}`);
  }
  const dbUrl = new URL(POSTGRES);
  dbUrl.pathname = `/${dbName}`;
  const dbBytes = async () =>
    admin
      ? Number((await admin.query<{ n: string }>(`select pg_database_size('${dbName}') as n`)).rows[0]!.n)
      : directoryBytes(join(dataDir, 'pgdata'));
  let serve: ServeProcess | undefined;
  try {
    serve = await startServe(port, {
      DATA_DIR: dataDir,
      ...(distributed
        ? {
            DATABASE_URL: dbUrl.toString(),
            REDIS_URL: REDIS,
            BTFWATCH_QUEUE_PREFIX: `btfw-embedded-${process.pid}`,
          }
        : {}),
    });
    const pid = serve.child.pid!;
    await new Promise((r) => setTimeout(r, 3000));
    const idle = sampleTree(pid);
    await new Promise((r) => setTimeout(r, 1000));
    idle.stop();
    const before = await dbBytes();
    const cpuBefore = treeCpuMs(pid);
    const sampler = sampleTree(pid);
    const startMs = Date.now();
    const started = performance.now();
    await addAndScan(serve.origin, mirror, SUITE, readFileSync(mirror.armoredPublicKeyPath, 'utf8'));
    const jobs = await waitQuiet(serve.origin);
    const wallS = (performance.now() - started) / 1000;
    const cpuS = (treeCpuMs(pid) - cpuBefore) / 1000;
    sampler.stop();
    const added = (await dbBytes()) - before;
    return {
      wallS,
      cpuS,
      peakRssMb: sampler.peakBytes() / 1e6,
      atPeak: sampler.atPeak(),
      idleRssMb: idle.peakBytes() / 1e6,
      ...phases(jobs, startMs),
      dbBytesAdded: added,
    };
  } catch (e) {
    note(`serve stderr: ${serve?.stderr().slice(-3000) ?? ''}`);
    throw e;
  } finally {
    await serve?.stop();
    if (admin) {
      await admin.query(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const pkg = execFileSync(join(root, 'test/fixtures/fetch-packages.sh'), [PACKAGE], {
  encoding: 'utf8',
}).trim();
if (!pkg) throw new Error('fetch-packages.sh found no package');
note(`building (tsc -b)`);
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], {
  cwd: root,
  stdio: 'inherit',
});

const served = await startMirrorProcess(SUITE, [pkg]);
const distributed = !flag(args, 'no-distributed');
try {
  readFileSync(pkg); // page cache warm for every side
  await dpkgDeb(pkg);
  const dpkg: Timed[] = [];
  const cliRuns: Run[] = [];
  const serveRuns: Run[] = [];
  const distRuns: Run[] = [];
  for (let i = 0; i < runs; i++) {
    dpkg.push(await dpkgDeb(pkg));
    note(`run ${i + 1}: btfwatch scan`);
    cliRuns.push(await cliScan(served));
    note(`run ${i + 1}: btfwatch serve (embedded)`);
    serveRuns.push(await serveScan(served, false));
    if (distributed) {
      note(`run ${i + 1}: btfwatch serve (Postgres + Redis)`);
      distRuns.push(await serveScan(served, true));
    }
    dpkg.push(await dpkgDeb(pkg));
  }
  const med = <T>(xs: T[], f: (x: T) => number) => median(xs.map(f));
  const floor = med(dpkg, (d) => d.wallS);
  const figures: Record<string, string | number> = {
    package: PACKAGE,
    package_mb: fixed(statSync(pkg).size / 1e6, 1),
    modules: cliRuns[0]?.modules ?? NaN,
    runs,
    load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    dpkg_deb_s: fixed(floor),
    dpkg_deb_cpu_s: fixed(med(dpkg, (d) => d.cpuS)),
    dpkg_deb_peak_rss_mb: fixed(
      med(dpkg, (d) => d.peakRssMb),
      0,
    ),
  };
  const report = (label: string, rs: Run[]) => {
    if (!rs.length) return;
    const wall = med(rs, (r) => r.wallS);
    Object.assign(figures, {
      [`${label}_s`]: fixed(wall),
      [`${label}_cpu_s`]: fixed(med(rs, (r) => r.cpuS)),
      [`${label}_scan_phase_s`]: fixed(med(rs, (r) => r.scanS)),
      [`${label}_ingest_phase_s`]: fixed(med(rs, (r) => r.ingestS)),
      [`${label}_evaluate_phase_s`]: fixed(med(rs, (r) => r.evaluateS)),
      [`${label}_peak_rss_mb`]: fixed(Math.max(...rs.map((r) => r.peakRssMb)), 0),
      [`${label}_db_mb_added`]: fixed(med(rs, (r) => r.dbBytesAdded) / 1e6, 1),
      [`${label}_jobs_failed`]: Math.max(...rs.map((r) => r.failed)),
      [`ratio_${label}_to_dpkg_deb_time`]: fixed(wall / floor),
      [`ratio_${label}_to_dpkg_deb_cpu`]: fixed(med(rs, (r) => r.cpuS) / med(dpkg, (d) => d.cpuS)),
      [`${label}_meets_3x_goal`]: wall / floor <= GOAL_RATIO ? 'yes' : 'no',
      [`${label}_meets_rss_goal_${GOAL_RSS_MB}mb`]:
        Math.max(...rs.map((r) => r.peakRssMb)) <= GOAL_RSS_MB ? 'yes' : 'no',
    });
    const idle = rs.map((r) => r.idleRssMb).filter((x): x is number => x !== undefined);
    if (idle.length) {
      figures[`${label}_idle_rss_mb`] = fixed(Math.max(...idle), 0);
      figures[`${label}_meets_idle_goal_${GOAL_IDLE_MB}mb`] =
        Math.max(...idle) <= GOAL_IDLE_MB ? 'yes' : 'no';
    }
    note(`${label} tree at its peak: ${rs.at(-1)!.atPeak}`);
  };
  report('cli_scan', cliRuns);
  report('serve_embedded', serveRuns);
  report('serve_distributed', distRuns);
  printFigures(figures);
} finally {
  served.close();
}
