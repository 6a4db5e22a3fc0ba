import { readFile } from 'node:fs/promises';
import { loadConfig } from '@btfwatch/config';
import {
  alerts,
  createMirror,
  listMirrors,
  migrateDatabase,
  moduleBuilds,
  openDatabase,
  kernelBuilds,
  verdicts,
  type Mirror,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { DbJobQueue, buildProcessorSet, startInProcessRunner } from '@btfwatch/worker';
import { desc, gt, sql } from 'drizzle-orm';
import { parse } from '../args.ts';
import { UsageError, createLogger } from '../runtime.ts';

export const SCAN_USAGE = `btfwatch scan --apt URL --suite SUITE [--suite ...] [--arch amd64] [--component main]
             [--match 'linux-image-6.1.*'] [--keyring FILE] [--insecure]
btfwatch scan --rpm URL [--arch x86_64] [--match GLOB] [--keyring FILE] [--insecure]
  One-shot: scan the mirror, ingest new kernel and module packages, evaluate, and print a summary, using the
  configured database (DATABASE_URL, or the embedded one under DATA_DIR).`;

function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
  else process.stderr.write(`${text}\n`);
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

async function findOrCreateMirror(
  db: Parameters<typeof listMirrors>[0],
  spec: Omit<Mirror, 'id' | 'createdAt' | 'lastScanAt' | 'lastScanError'>,
): Promise<Mirror> {
  const same = (await listMirrors(db)).find(
    (m) =>
      m.kind === spec.kind &&
      m.url === spec.url &&
      JSON.stringify(m.suites) === JSON.stringify(spec.suites) &&
      m.arch === spec.arch &&
      m.match === spec.match,
  );
  return same ?? createMirror(db, spec);
}

export async function scan(argv: string[]): Promise<number> {
  const { values } = parse('scan', argv, {
    apt: { type: 'string' },
    rpm: { type: 'string' },
    suite: { type: 'string', multiple: true },
    component: { type: 'string', multiple: true },
    arch: { type: 'string' },
    match: { type: 'string' },
    keyring: { type: 'string' },
    insecure: { type: 'boolean' },
    distro: { type: 'string' },
  });
  if (!values.apt === !values.rpm) throw new UsageError(`usage: ${SCAN_USAGE}`);
  if (values.apt && !values.suite?.length) throw new UsageError('scan --apt needs at least one --suite');
  if (values.keyring && values.insecure) throw new UsageError('give --keyring or --insecure, not both');

  const config = loadConfig();
  const logger = createLogger(
    { ...config, logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel },
    2,
  );
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateDatabase(database);
    const kind = values.apt ? 'apt' : 'rpm';
    const mirror = await findOrCreateMirror(database.db, {
      kind,
      url: (values.apt ?? values.rpm)!.replace(/\/+$/, ''),
      suites: values.suite ?? ['.'],
      components: values.component ?? ['main'],
      arch: values.arch ?? (kind === 'apt' ? 'amd64' : 'x86_64'),
      match: values.match ?? null,
      distro: values.distro ?? (kind === 'apt' ? 'debian' : 'fedora'),
      keyring: values.keyring ? await readFile(values.keyring, 'utf8').catch(() => values.keyring!) : null,
      insecure: values.insecure ?? false,
      scanIntervalSeconds: null,
    });
    if (mirror.insecure) process.stderr.write(`warning: signature checking is OFF for ${mirror.url}\n`);
    const since = new Date();
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
      const done = ingests.filter((j) => j.state === 'completed' || j.state === 'failed').length;
      const modules = ingests.reduce((n, j) => n + Number(j.progress?.modules ?? 0), 0);
      const evals = all.filter((j) => j.name === 'evaluate-kernel' && j.state === 'active').length;
      progressLine(
        `${bar(done, ingests.length)} packages ${done}/${ingests.length}, modules ${modules}${evals ? `, evaluating ${evals} kernel(s)` : ''}`,
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
    const scanJob = await queue.get(jobId);
    if (scanJob?.state === 'failed') {
      process.stderr.write(`scan failed: ${scanJob.error}\n`);
      return 1;
    }
    const failed = (await queue.list({ names: ['ingest-package'], states: ['failed'], limit: 1000 })).filter(
      (j) => j.createdAt >= since,
    );
    for (const f of failed)
      process.stderr.write(`ingest failed: ${String(f.data.name)} ${String(f.data.version)}: ${f.error}\n`);

    const kernels = await database.db.select().from(kernelBuilds).orderBy(desc(kernelBuilds.id));
    const [{ n: moduleCount } = { n: 0 }] = await database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(moduleBuilds);
    const newAlerts = await database.db.select().from(alerts).where(gt(alerts.createdAt, since));
    const verdictCounts = await database.db
      .select({ btf: verdicts.btf, n: sql<number>`count(*)::int` })
      .from(verdicts)
      .groupBy(verdicts.btf);
    process.stdout.write(`mirror ${mirror.id}: ${mirror.url} (${mirror.suites.join(', ')})\n`);
    process.stdout.write(`kernel builds: ${kernels.length}\n`);
    for (const k of kernels) {
      process.stdout.write(
        `  [${k.id}] ${k.release} ${k.version} ${k.arch} base ${k.baseBtfSha256?.slice(0, 12) ?? '(no vmlinuz yet)'} nr_types ${k.nrTypes ?? '-'}\n`,
      );
    }
    process.stdout.write(`module builds: ${moduleCount}\n`);
    process.stdout.write(`verdicts: ${verdictCounts.map((v) => `${v.btf} ${v.n}`).join(', ') || 'none'}\n`);
    process.stdout.write(`new alerts: ${newAlerts.length}\n`);
    for (const a of newAlerts) process.stdout.write(`  [${a.severity}] ${a.summary}\n`);
    return failed.length ? 1 : 0;
  } finally {
    await database.close();
  }
}
