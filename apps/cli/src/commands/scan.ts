import { readFile } from 'node:fs/promises';
import { loadConfig } from '@btfwatch/config';
import {
  alerts,
  createMirror,
  kernelBuilds,
  kernelPackages,
  listMirrors,
  migrateDatabase,
  moduleBuilds,
  openDatabase,
  packageLocations,
  packages,
  verdicts,
  type Database,
  type Mirror,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { MirrorError, armorKeyring, checkPatterns } from '@btfwatch/mirror';
import { DbJobQueue, buildProcessorSet, startInProcessRunner } from '@btfwatch/worker';
import { and, desc, eq, gt, gte, inArray, or, sql } from 'drizzle-orm';
import { parse } from '../args.ts';
import { createLogger } from '../logger.ts';
import { UsageError } from '../usage.ts';

export const SCAN_USAGE = `btfwatch scan --apt URL --suite SUITE [--suite ...] [--arch amd64] [--component main]
             [--match 'linux-image-6.1.0-5[56]-amd64' ...] [--keyring FILE] [--insecure]
             [--allow-expired] [--distro NAME]
btfwatch scan --rpm URL [--arch x86_64] [--match PATTERN ...] [--keyring FILE] [--insecure] [--distro NAME]
  One-shot: scan the mirror, ingest new kernel and module packages, evaluate, and print a summary of what
  this scan ingested, using the configured database (DATABASE_URL, or the embedded one under DATA_DIR).
  --match PATTERN: package names as apt and shells match them (*, ?, [...], [!...]); repeat for a list.
  --keyring FILE: binary (.gpg) or armored (.asc) OpenPGP keys; stored armored with the mirror.
  --distro NAME: the distribution of every kernel build found (ubuntu, rhel, ...); without it each build's
  is read from its release string (6.8.0-31-generic: ubuntu, .el9.: rhel, -pve: proxmox), else debian (apt)
  or fedora (rpm).
  --allow-expired: accept a Release past its Valid-Until (apt's Acquire::Check-Valid-Until=false), for
  snapshot and frozen mirrors.
  A mirror row is reused only when every setting (suites, components, arch, match, distro, keyring,
  insecure, allow-expired) is the same; otherwise a new one is added, so no scan runs with another scan's
  trust settings.`;

function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** The database's size on disk as Postgres accounts it (PGlite included). */
async function databaseBytes(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<string>`pg_database_size(current_database())::text` })
    .from(sql`(select 1) as one`);
  return Number(row?.n ?? 0);
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

type MirrorSpec = Omit<Mirror, 'id' | 'createdAt' | 'lastScanAt' | 'lastScanError' | 'lastScanWarnings'>;

const sameList = (a: readonly string[], b: readonly string[]) => JSON.stringify(a) === JSON.stringify(b);

/** A mirror row with exactly these settings — security settings included — or a new one. */
async function findOrCreateMirror(
  db: Database,
  spec: MirrorSpec,
): Promise<{ mirror: Mirror; created: boolean }> {
  const same = (await listMirrors(db)).find(
    (m) =>
      m.kind === spec.kind &&
      m.url === spec.url &&
      sameList(m.suites, spec.suites) &&
      sameList(m.components, spec.components) &&
      m.arch === spec.arch &&
      sameList(m.match, spec.match) &&
      m.distro === spec.distro &&
      m.keyring === spec.keyring &&
      m.insecure === spec.insecure &&
      m.allowExpired === spec.allowExpired,
  );
  if (same) return { mirror: same, created: false };
  return { mirror: await createMirror(db, spec), created: true };
}

/** The keyring file as one armored block (what the mirrors table and POST /v1/mirrors hold). */
async function readKeyringFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read keyring ${path}: ${(err as Error).message}`);
  }
  return armorKeyring(bytes);
}

interface ScanSummary {
  ingested: string[];
  kernels: Array<typeof kernelBuilds.$inferSelect>;
  modules: number;
  verdicts: Array<{ btf: string; n: number }>;
  totals: { kernels: number; modules: number; verdicts: number };
}

/** What this scan added: packages of this mirror ingested since it started, their kernels, modules and verdicts. */
async function summarise(db: Database, mirrorId: number, since: Date): Promise<ScanSummary> {
  const ingested = (
    await db
      .selectDistinct({ sha256: packages.sha256 })
      .from(packages)
      .innerJoin(packageLocations, eq(packageLocations.packageSha256, packages.sha256))
      .where(
        and(
          eq(packageLocations.mirrorId, mirrorId),
          eq(packages.status, 'ingested'),
          gte(packages.ingestedAt, since),
        ),
      )
  ).map((r) => r.sha256);
  const count = sql<number>`count(*)::int`;
  const [totals] = await db
    .select({
      kernels: sql<number>`(select count(*)::int from ${kernelBuilds})`,
      modules: sql<number>`(select count(*)::int from ${moduleBuilds})`,
      verdicts: sql<number>`(select count(*)::int from ${verdicts})`,
    })
    .from(sql`(select 1) as one`);
  if (ingested.length === 0)
    return {
      ingested,
      kernels: [],
      modules: 0,
      verdicts: [],
      totals: totals ?? { kernels: 0, modules: 0, verdicts: 0 },
    };
  const kernelIds = db
    .selectDistinct({ id: kernelPackages.kernelBuildId })
    .from(kernelPackages)
    .where(inArray(kernelPackages.packageSha256, ingested));
  const moduleIds = db
    .select({ id: moduleBuilds.id })
    .from(moduleBuilds)
    .where(inArray(moduleBuilds.packageSha256, ingested));
  const kernels = await db
    .select()
    .from(kernelBuilds)
    .where(inArray(kernelBuilds.id, kernelIds))
    .orderBy(desc(kernelBuilds.id));
  const [{ n: modules } = { n: 0 }] = await db
    .select({ n: count })
    .from(moduleBuilds)
    .where(inArray(moduleBuilds.packageSha256, ingested));
  const verdictCounts = await db
    .select({ btf: verdicts.btf, n: count })
    .from(verdicts)
    .where(or(inArray(verdicts.kernelBuildId, kernelIds), inArray(verdicts.moduleBuildId, moduleIds)))
    .groupBy(verdicts.btf)
    .orderBy(verdicts.btf);
  return {
    ingested,
    kernels,
    modules,
    verdicts: verdictCounts,
    totals: totals ?? { kernels: 0, modules: 0, verdicts: 0 },
  };
}

export async function scan(argv: string[]): Promise<number> {
  const { values } = parse('scan', argv, {
    apt: { type: 'string' },
    rpm: { type: 'string' },
    suite: { type: 'string', multiple: true },
    component: { type: 'string', multiple: true },
    arch: { type: 'string' },
    match: { type: 'string', multiple: true },
    keyring: { type: 'string' },
    insecure: { type: 'boolean' },
    'allow-expired': { type: 'boolean' },
    distro: { type: 'string' },
  });
  if (!values.apt === !values.rpm) throw new UsageError(`usage: ${SCAN_USAGE}`);
  if (values.apt && !values.suite?.length) throw new UsageError('scan --apt needs at least one --suite');
  if (values.keyring && values.insecure) throw new UsageError('give --keyring or --insecure, not both');

  // Before the database opens: a keyring or a pattern that cannot work is the user's to fix now.
  const match = values.match ?? [];
  try {
    checkPatterns(match);
  } catch (err) {
    if (err instanceof MirrorError) throw new UsageError(`--match: ${err.message}`);
    throw err;
  }
  const keyring = values.keyring ? await readKeyringFile(values.keyring) : null;
  const config = loadConfig();
  const logger = createLogger(
    { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
    2,
  );
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateDatabase(database);
    const kind = values.apt ? 'apt' : 'rpm';
    const { mirror, created } = await findOrCreateMirror(database.db, {
      kind,
      url: (values.apt ?? values.rpm)!.replace(/\/+$/, ''),
      suites: values.suite ?? ['.'],
      components: values.component ?? ['main'],
      arch: values.arch ?? (kind === 'apt' ? 'amd64' : 'x86_64'),
      match,
      distro: values.distro ?? null,
      keyring,
      insecure: values.insecure ?? false,
      allowExpired: values['allow-expired'] ?? false,
      scanIntervalSeconds: null,
    });
    if (mirror.insecure) process.stderr.write(`warning: signature checking is OFF for ${mirror.url}\n`);
    if (mirror.allowExpired)
      process.stderr.write(`warning: expired Releases (Valid-Until) are accepted for ${mirror.url}\n`);
    const since = new Date();
    const started = performance.now();
    // One-shot scans run their jobs here, whatever REDIS_URL says: the summary needs them finished.
    // Someone is waiting at the terminal: retry transient faults sooner than a background service would.
    const queue = new DbJobQueue(database.db, 0.1);
    const set = buildProcessorSet({ config, database, queue, logger, now: () => new Date() });
    const runner = startInProcessRunner(
      queue,
      set.processors,
      { concurrency: config.workerConcurrency, pollMs: 200 },
      logger,
    );
    const jobId = await queue.enqueue(
      'scan-mirror',
      { mirrorId: mirror.id, trigger: 'cli' },
      { jobId: jobIds.requestedScan(mirror.id, Date.now()) },
    );
    const ticker = setInterval(async () => {
      const all = await queue.list({ limit: 1000 });
      const ingests = all.filter((j) => j.name === 'ingest-package' && j.createdAt >= since);
      const done = ingests.filter((j) => j.state === 'completed' || j.state === 'failed');
      const listed = ingests.reduce((n, j) => n + Number(j.data.size ?? 0), 0);
      // Finished packages count whole; the one downloading counts what has arrived.
      const arrived = ingests.reduce(
        (n, j) => n + (j.state === 'completed' ? Number(j.data.size ?? 0) : Number(j.progress?.bytes ?? 0)),
        0,
      );
      const modules = ingests.reduce((n, j) => n + Number(j.progress?.modules ?? 0), 0);
      const evals = all.filter((j) => j.name === 'evaluate-kernel' && j.state === 'active').length;
      progressLine(
        `${bar(arrived, listed)} packages ${done.length}/${ingests.length}, ${mb(arrived)}/${mb(listed)} MB, modules ${modules}${evals ? `, evaluating ${evals} kernel(s)` : ''}`,
      );
    }, 500);
    try {
      await runner.idle();
    } finally {
      clearInterval(ticker);
      await runner.close();
      await set.close();
      if (process.stderr.isTTY) process.stderr.write('\n');
    }
    const downloaded = set.downloader.stats;
    const scanJob = await queue.get(jobId);
    const result = scanJob?.result ?? (scanJob?.progress as Record<string, unknown> | null) ?? {};
    for (const w of (result.warnings ?? []) as Array<{ suite?: string; code: string; message: string }>)
      process.stderr.write(`warning: ${w.suite ? `${w.suite}: ` : ''}${w.message} [${w.code}]\n`);
    if (scanJob?.state === 'failed') {
      process.stderr.write(`scan failed: ${scanJob.error}\n`);
      return 1;
    }
    const failedSuites = (result.failedSuites ?? []) as Array<{
      suite: string;
      code: string;
      message: string;
    }>;
    for (const f of failedSuites)
      process.stderr.write(`suite failed: ${f.suite}: ${f.message} [${f.code}]\n`);
    const failed = (await queue.list({ names: ['ingest-package'], states: ['failed'], limit: 1000 })).filter(
      (j) => j.createdAt >= since && j.data.mirrorId === mirror.id,
    );
    for (const f of failed)
      process.stderr.write(`ingest failed: ${String(f.data.name)} ${String(f.data.version)}: ${f.error}\n`);

    const summary = await summarise(database.db, mirror.id, since);
    const newAlerts = await database.db.select().from(alerts).where(gt(alerts.createdAt, since));
    const found = Number(result.packagesFound ?? 0);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`mirror ${mirror.id}${created ? ' (new)' : ''}: ${mirror.url} (${mirror.suites.join(', ')})`);
    out(`packages: ${found} listed, ${summary.ingested.length} ingested, ${failed.length} failed`);
    out(`kernel builds: ${summary.kernels.length}`);
    for (const k of summary.kernels) {
      out(
        `  [${k.id}] ${k.release} ${k.version} ${k.arch} base ${k.baseBtfSha256?.slice(0, 12) ?? '(no vmlinuz yet)'} nr_types ${k.nrTypes ?? '-'}`,
      );
    }
    out(`module builds: ${summary.modules}`);
    out(`verdicts: ${summary.verdicts.map((v) => `${v.btf} ${v.n}`).join(', ') || 'none'}`);
    out(`new alerts: ${newAlerts.length}`);
    for (const a of newAlerts) out(`  [${a.severity}] ${a.summary}`);
    out(
      `database total: ${summary.totals.kernels} kernel builds, ${summary.totals.modules} module builds, ${summary.totals.verdicts} verdicts`,
    );
    out(
      `time: ${((performance.now() - started) / 1000).toFixed(1)} s, downloaded: ${mb(downloaded.bytes)} MB in ${downloaded.requests} requests, database: ${mb(await databaseBytes(database.db))} MB`,
    );
    return failed.length || failedSuites.length ? 1 : 0;
  } finally {
    await database.close();
  }
}
