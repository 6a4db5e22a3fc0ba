// evaluate-kernel for one new kernel build, on real data in real PostgreSQL.
//   npm run bench -- evaluate-kernel [--runs N] [--bpftool-sample N] [--keep-cache] [--rebuild] [--keep-db]
//
// Setup (bench/support/loaded-database.ts): the pinned full Debian builds 6.1.0-55 and 6.1.0-56 (~4,000
// modules each) taken in by the real pipeline. Each run starts from a clone reset to "6.1.0-56 just
// ingested": its verdicts and alerts deleted (VACUUM FULL, ANALYZE), evaluated_at cleared. Then the real
// evaluate-kernel processor runs on it with a new Evaluator (cold base, symvers and base-pair caches, as a
// worker meeting a new build has): pick the relevant module builds (its own ~4,000 and those of the
// previous upload 6.1.0-55, ~4,000, which an ABI-compatible upload keeps loading), verdict each with
// evidence, store the verdicts, raise alerts. Timed: the whole processor call. Median of N runs; the first
// (cold JIT) apart. A breakdown follows from the same public exports the processor uses, per step and per
// module group (own modules: identical bases; previous upload's: the cross-base check).
//
// References in the same run, for the same module builds:
//  - floor: what any evaluation has to do at least — for the modules whose verdict depends on their BTF
//    (build base ≠ the kernel's base; the own modules are `identical` from hashes alone): fetch the BTF
//    blob from the database, decompress it, parse it as split BTF over its build base (no checks, writes);
//  - bpftool: `bpftool --base-btf <build base> btf dump file <module.btf> format raw > /dev/null` on an
//    evenly spaced sample: the reference tool just reading the same BTF. Each dump is paired with one of
//    an empty split BTF over the same base, so its marginal per-module cost (without process start and
//    base load) is printed too; the ratios compare our whole per-module verdict cost with both.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Btf } from '@btfwatch/btf';
import { loadConfig } from '@btfwatch/config';
import {
  getBlob,
  getBlobs,
  kernelBuilds,
  openDatabase,
  queryRows,
  upsertVerdicts,
  type DatabaseHandle,
  type KernelBuild,
} from '@btfwatch/db';
import { DbJobQueue, buildProcessorSet } from '@btfwatch/worker';
import { createEvaluator, relevantModules } from '@btfwatch/evaluate';
import { eq, sql } from 'drizzle-orm';
import { fixed, median, note, option, printFigures } from './support/figures.ts';
import { KERNEL_BUILDS, loadedDatabase } from './support/loaded-database.ts';

const args = process.argv.slice(2);
const runs = Number(option(args, 'runs', '3'));
const bpftoolSample = Number(option(args, 'bpftool-sample', '200'));
const GOAL_S = 5;
const BPFTOOL =
  ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => spawnSync(p, ['version']).status === 0) ?? 'bpftool';

const loaded = await loadedDatabase(args);
const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-eval-'));
const figures: Record<string, string | number> = {};
let database: DatabaseHandle | undefined;
try {
  database = await openDatabase({ url: loaded.url, poolSize: 10 });
  const { db } = database;
  const byRelease = async (release: string): Promise<KernelBuild> => {
    const [k] = await db.select().from(kernelBuilds).where(eq(kernelBuilds.release, release));
    if (!k) throw new Error(`kernel build ${release} is not loaded`);
    return k;
  };
  const previous = await byRelease(KERNEL_BUILDS[0]!.release);
  const kernel = await byRelease(KERNEL_BUILDS[1]!.release);

  /** Back to "the new build was just ingested": nothing evaluated for it yet. */
  const reset = async (): Promise<void> => {
    await db.execute(sql`delete from verdicts where kernel_build_id = ${kernel.id}`);
    await db.execute(sql`delete from alerts where kernel_build_id = ${kernel.id}`);
    await db.execute(sql`update kernel_builds set evaluated_at = null where id = ${kernel.id}`);
    await db.execute(sql`vacuum full verdicts`);
    await db.execute(sql`vacuum full alerts`);
    await db.execute(sql`analyze verdicts`);
  };

  const config = loadConfig({ DATA_DIR: work, DATABASE_URL: loaded.url, LOG_LEVEL: 'warn' });
  const logger = pino({ level: 'warn' });
  const queue = new DbJobQueue(db);
  const processorRuns: Array<{ wall: number; result: Record<string, unknown> }> = [];
  for (let r = 0; r < runs; r++) {
    await reset();
    // A new processor set per run: a worker meeting a new build has none of its bases cached.
    const set = buildProcessorSet({ config, database, queue, logger, now: () => new Date() });
    const evaluate = set.processors['evaluate-kernel']!;
    const start = performance.now();
    const result = await evaluate({
      id: `bench-${r}`,
      name: 'evaluate-kernel',
      data: { kernelBuildId: kernel.id },
      attempt: 1,
      updateProgress: async () => undefined,
    });
    processorRuns.push({ wall: (performance.now() - start) / 1000, result });
    await set.close();
    note(`run ${r + 1}: ${processorRuns.at(-1)!.wall.toFixed(2)} s ${JSON.stringify(result.summary)}`);
  }
  const [stored] = await queryRows<{ n: number }>(
    db,
    sql`select count(*)::int as n from verdicts where kernel_build_id = ${kernel.id}`,
  );
  const modules = Number(processorRuns[0]!.result.modules);
  if (stored?.n !== modules) throw new Error(`processor stored ${stored?.n} verdicts for ${modules} modules`);

  // ---- breakdown, with the exports the processor is built from (cold evaluator again)
  await reset();
  const evaluator = createEvaluator(database);
  let t = performance.now();
  const ctx = await evaluator.kernelContext(kernel);
  const contextS = (performance.now() - t) / 1000;
  t = performance.now();
  const relevant = await relevantModules(db, kernel);
  const selectS = (performance.now() - t) / 1000;
  const own = relevant.modules.filter((m) => m.kernelBuildId === kernel.id);
  const others = relevant.modules.filter((m) => m.kernelBuildId !== kernel.id);
  t = performance.now();
  const buildBaseOf = (m: (typeof own)[number]) => relevant.declaredBase.get(m.packageSha256) ?? null;
  const ownVerdicts = await evaluator.evaluate(ctx, own, { buildBaseOf });
  const ownS = (performance.now() - t) / 1000;
  t = performance.now();
  const otherVerdicts = await evaluator.evaluate(ctx, others, { buildBaseOf });
  const othersS = (performance.now() - t) / 1000;
  t = performance.now();
  await db.transaction((tx) =>
    upsertVerdicts(
      tx,
      [...ownVerdicts, ...otherVerdicts].map((v) => v.row),
    ),
  );
  const storeS = (performance.now() - t) / 1000;
  const evidenceBytes =
    [...ownVerdicts, ...otherVerdicts].reduce((n, v) => n + JSON.stringify(v.row.evidence).length, 0) /
    relevant.modules.length;
  // Warm: the same evaluation again on the now-warm evaluator (bases parsed, pair diff cached, JIT hot).
  t = performance.now();
  await evaluator.evaluate(ctx, others, { buildBaseOf });
  const othersWarmS = (performance.now() - t) / 1000;

  // ---- reference 1: the floor. A verdict needs a module's BTF only when its build base is not the
  // kernel's own (own modules are `identical` from the hashes alone): fetch those blobs, decompress them
  // and parse them as split BTF over their build base. Fetching every module's blob is timed beside it.
  const bases = new Map<string, Btf>();
  for (const sha of new Set(relevant.modules.map((m) => m.buildBaseSha256).filter((s): s is string => !!s))) {
    bases.set(sha, Btf.parse((await getBlob(db, sha))!));
  }
  const fetchAll = async (list: typeof relevant.modules) => {
    const out = new Map<number, Uint8Array>();
    const start = performance.now();
    for (let i = 0; i < list.length; i += 200) {
      const batch = list.slice(i, i + 200);
      const blobs = await getBlobs(
        db,
        batch.map((m) => m.btfSha256).filter((h): h is string => !!h),
      );
      for (const m of batch) {
        const b = m.btfSha256 ? blobs.get(m.btfSha256) : undefined;
        if (b) out.set(m.id, b);
      }
    }
    return { blobs: out, seconds: (performance.now() - start) / 1000 };
  };
  const needed = relevant.modules.filter((m) => m.buildBaseSha256 !== kernel.baseBtfSha256);
  const floorFetch = await fetchAll(needed);
  const everyFetch = await fetchAll(relevant.modules);
  const blobsByModule = everyFetch.blobs;
  const fetchedBytes = (blobs: Map<number, Uint8Array>) =>
    [...blobs.values()].reduce((n, b) => n + b.byteLength, 0);
  const parseOnce = (): number => {
    const start = performance.now();
    for (const m of needed) {
      const bytes = floorFetch.blobs.get(m.id);
      const base = m.buildBaseSha256 ? bases.get(m.buildBaseSha256) : undefined;
      if (bytes && base) Btf.parse(bytes, base);
    }
    return (performance.now() - start) / 1000;
  };
  parseOnce();
  const parseS = median([parseOnce(), parseOnce(), parseOnce()]);
  const floorS = floorFetch.seconds + parseS;

  // ---- reference 2: bpftool reading the same module BTF (an evenly spaced sample). Each module dump
  // is paired with a dump of an empty split BTF over the same base, so the process start and the base
  // load can be told apart from the per-module work.
  const baseFiles = new Map<string, string>();
  for (const sha of bases.keys()) {
    const p = join(work, `base-${sha.slice(0, 12)}.btf`);
    writeFileSync(p, (await getBlob(db, sha))!);
    baseFiles.set(sha, p);
  }
  const emptySplit = join(work, 'empty-split.btf');
  const header = Buffer.alloc(25); // btf_header (24 bytes) + a one-byte string section
  header.writeUInt16LE(0xeb9f, 0);
  header[2] = 1; // version
  header.writeUInt32LE(24, 4); // hdr_len; type_off, type_len, str_off stay 0
  header.writeUInt32LE(1, 20); // str_len
  writeFileSync(emptySplit, header);
  const withBtf = relevant.modules.filter((m) => blobsByModule.has(m.id) && m.buildBaseSha256);
  const step = Math.max(1, Math.floor(withBtf.length / bpftoolSample));
  const sample = withBtf.filter((_, i) => i % step === 0).slice(0, bpftoolSample);
  const devnull = openSync('/dev/null', 'w');
  const bpftool = (file: string, base: string): number => {
    const start = performance.now();
    const r = spawnSync(BPFTOOL, ['--base-btf', base, 'btf', 'dump', 'file', file, 'format', 'raw'], {
      stdio: ['ignore', devnull, 'pipe'],
    });
    if (r.status !== 0) throw new Error(`bpftool failed on ${file}: ${r.stderr.toString()}`);
    return performance.now() - start;
  };
  const diffs: number[] = [];
  let moduleMs = 0;
  let emptyMs = 0;
  for (const m of sample) {
    const file = join(work, `m${m.id}.btf`);
    writeFileSync(file, blobsByModule.get(m.id)!);
    const base = baseFiles.get(m.buildBaseSha256!)!;
    const withModule = bpftool(file, base);
    const without = bpftool(emptySplit, base);
    moduleMs += withModule;
    emptyMs += without;
    diffs.push(withModule - without);
  }
  closeSync(devnull);
  const bpftoolPerModuleMs = moduleMs / sample.length;
  const bpftoolStartMs = emptyMs / sample.length;
  // Marginal cost = mean paired difference; below twice its standard error it is lost in the noise.
  const marginalMs = diffs.reduce((a, b) => a + b, 0) / diffs.length;
  const marginalSe =
    Math.sqrt(diffs.reduce((a, d) => a + (d - marginalMs) ** 2, 0) / Math.max(1, diffs.length - 1)) /
    Math.sqrt(diffs.length);
  const marginalResolved = marginalMs > 2 * marginalSe;

  const walls = processorRuns.map((r) => r.wall);
  const wall = median(walls);
  const perModuleMs = (wall * 1000) / modules;
  const summary = processorRuns[0]!.result.summary as Record<string, number>;
  Object.assign(figures, {
    kernel: `${kernel.release} (${kernel.version}), id ${kernel.id}`,
    'previous upload': `${previous.release} (${previous.version}), id ${previous.id}`,
    'module builds evaluated': modules,
    'of which the kernel build’s own': own.length,
    'of which the previous upload’s': others.length,
    verdicts: Object.entries(summary)
      .map(([k, n]) => `${n} ${k}`)
      .join(', '),
    'alerts raised': (processorRuns[0]!.result.alerts as unknown[]).length,
    'runs (median of)': runs,
    'evaluate-kernel wall s (processor, median)': fixed(wall),
    'evaluate-kernel wall s (first run, cold JIT)': fixed(walls[0]!),
    'evaluate-kernel goal s': GOAL_S,
    'evaluate-kernel / goal': fixed(wall / GOAL_S),
    'evaluate-kernel per module ms': fixed(perModuleMs, 3),
    'evaluate-kernel per 4,000 modules s': fixed((perModuleMs * 4000) / 1000),
    'evaluate-kernel per 4,000 modules / goal': fixed((perModuleMs * 4) / GOAL_S),
    'breakdown kernel context s (base BTF + symvers from blobs, parsed)': fixed(contextS),
    'breakdown select relevant modules s': fixed(selectS),
    'breakdown evaluate own modules s': fixed(ownS),
    'breakdown evaluate own per module ms': fixed((ownS * 1000) / Math.max(1, own.length), 3),
    'breakdown evaluate previous upload’s modules s (cold: base parse + pair diff)': fixed(othersS),
    'breakdown evaluate previous upload’s per module ms': fixed(
      (othersS * 1000) / Math.max(1, others.length),
      3,
    ),
    'breakdown evaluate previous upload’s modules warm s': fixed(othersWarmS),
    'breakdown store verdicts s': fixed(storeS),
    'breakdown evidence JSON bytes per verdict': Math.round(evidenceBytes),
    'floor modules whose verdict needs their BTF': needed.length,
    'floor fetch + decompress their BTF s': fixed(floorFetch.seconds),
    'floor their BTF MB': fixed(fetchedBytes(floorFetch.blobs) / 1e6, 1),
    'floor parse them over their build base s': fixed(parseS),
    'floor total s': fixed(floorS),
    'evaluate-kernel / floor': fixed(wall / floorS),
    'fetch + decompress every module’s BTF s (the evaluator fetches only the floor’s)': fixed(
      everyFetch.seconds,
    ),
    'every module’s BTF MB': fixed(fetchedBytes(everyFetch.blobs) / 1e6, 1),
    'bpftool sample modules': sample.length,
    'bpftool btf dump per module ms (process + base + module)': fixed(bpftoolPerModuleMs, 2),
    'bpftool empty split over the same base ms (process + base)': fixed(bpftoolStartMs, 2),
    'bpftool marginal per module ms (paired mean ± standard error)': `${fixed(marginalMs, 2)} ± ${fixed(marginalSe, 2)}${marginalResolved ? '' : ' (not resolvable from process and base load)'}`,
    'bpftool all modules s (extrapolated, per-module dumps)': fixed((bpftoolPerModuleMs * modules) / 1000),
    'evaluate-kernel per module / bpftool per module': fixed(perModuleMs / bpftoolPerModuleMs, 3),
    'evaluate-kernel per module / bpftool marginal per module': marginalResolved
      ? fixed(perModuleMs / marginalMs, 2)
      : 'n/a (marginal not resolvable)',
    'cores (shared machine: figures indicative)': loaded.meta.cores,
    'peak RSS MB': Math.round(process.resourceUsage().maxRSS / 1024),
  });
} finally {
  await database?.close();
  await loaded.drop();
  rmSync(work, { recursive: true, force: true });
}
printFigures(figures);
