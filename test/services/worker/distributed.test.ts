import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { moduleBuilds, packages, queryRows } from '@btfwatch/db';
import { eq, sql } from 'drizzle-orm';
import { startCliService, type ServiceProcess } from '../../support/cli.ts';
import { RELEASES, fixturesDir } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import {
  ADMIN_TOKEN,
  addAptMirror,
  authHeader,
  requestScan,
  startTestService,
  type TestService,
} from '../../support/service.ts';
import { REDIS_URL, tempDir } from '../../support/services.ts';

function workerEnv(
  svc: TestService,
  dataDir: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: svc.config.databaseUrl!,
    REDIS_URL,
    BTFWATCH_QUEUE_PREFIX: svc.queuePrefix!,
    DATA_DIR: dataDir,
    BTFWATCH_WORKER_CONCURRENCY: '1',
    BTFWATCH_SCAN_INTERVAL: '0',
    BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1',
    ...extra,
  };
}

async function addAndScan(svc: TestService, mirror: MirrorHandle): Promise<string> {
  return requestScan(svc.app, await addAptMirror(svc.app, mirror));
}

/** The full real linux-image package (~70 MB, ~4,000 modules), from the pinned cache. */
function fullImagePackage(): string {
  const out = execFileSync(join(fixturesDir, 'fetch-packages.sh'), ['linux-image-6.1.0-55-amd64-unsigned'], {
    encoding: 'utf8',
  });
  return out.trim().split('\n').at(-1)!;
}

/** The ingest scratch directories under a DATA_DIR's downloads/. */
function scratchLeft(downloads: string): string[] {
  return existsSync(downloads) ? readdirSync(downloads).filter((n) => n.startsWith('ingest-')) : [];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test(
  'two worker processes on shared Postgres + Redis split the work without duplicates',
  { timeout: 300_000 },
  async () => {
    const work = tempDir();
    const builds = [
      await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.192-1' }, work.path),
      await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path),
      // An in-place upload of 56 (same release, newer version, same CRCs) made of 55's files.
      await buildKernelDebs(
        { from: RELEASES.bookworm55, release: RELEASES.bookworm56, version: '6.1.192-3' },
        work.path,
      ),
    ];
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: builds.flatMap((b) => [b.image, b.headers]) } } },
    });
    const svc = await startTestService('distributed', { workers: false });
    const workers: ServiceProcess[] = [];
    try {
      workers.push(await startCliService('worker', workerEnv(svc, join(work.path, 'w1'))));
      workers.push(await startCliService('worker', workerEnv(svc, join(work.path, 'w2'))));
      await addAndScan(svc, mirror);
      await svc.drain(240_000);

      const ingests = await svc.queue.list({ names: ['ingest-package'], limit: 100 });
      assert.equal(ingests.length, 6);
      for (const job of ingests) {
        assert.equal(job.state, 'completed', `${job.id}: ${job.error}`);
        assert.equal(job.attempts, 1, `${job.id} ran once`);
      }
      const byWorker = new Set((await svc.queue.list({ limit: 100 })).map((j) => j.processedBy));
      assert.ok(byWorker.size >= 2, `both worker processes took jobs: ${[...byWorker].join(', ')}`);

      const { db } = svc.database;
      const [pk] = await queryRows<{ n: number }>(
        db,
        sql`select count(*)::int as n from packages where status = 'ingested'`,
      );
      assert.equal(pk!.n, 6);
      const [mb] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from module_builds`);
      assert.equal(mb!.n, 36, 'each module build stored once');
      const kernels = (await svc.app.inject({ url: '/v1/kernels' })).json().items;
      assert.equal(kernels.length, 3);

      // Each evaluation ran once, however the two workers raced: every job (one per kernel build and
      // inputs) completed on its first attempt, and the one in-place upload's alert (its modules on the 56
      // build it replaces) was raised once.
      const evaluations = await svc.queue.list({ names: ['evaluate-kernel'], limit: 200 });
      assert.ok(evaluations.length >= 3);
      for (const job of evaluations) {
        assert.equal(job.state, 'completed', `${job.id}: ${job.error}`);
        assert.equal(job.attempts, 1, `${job.id} ran once`);
        assert.equal(job.id, `evaluate-kernel.${job.data.kernelBuildId}.${job.data.inputs}`);
      }
      const id = (version: string) => kernels.find((k: { version: string }) => k.version === version).id;
      const alerts = await queryRows<{ kernel_build_id: number; cause: string }>(
        db,
        sql`select kernel_build_id, cause from alerts order by kernel_build_id`,
      );
      assert.deepEqual(alerts, [
        { kernel_build_id: id('6.1.192-2'), cause: `btf_break:upload-${id('6.1.192-3')}` },
      ]);
      for (const w of workers.splice(0)) assert.equal(await w.stop(), 0, 'workers stop cleanly on SIGTERM');
    } finally {
      for (const w of workers) await w.stop('SIGKILL');
      await svc.close();
      await mirror.close();
      work.remove();
    }
  },
);

test(
  'distributed: a worker SIGKILLed mid-ingest leaves no partial rows; another worker completes the job',
  { timeout: 400_000 },
  async () => {
    const work = tempDir();
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [fullImagePackage()] } } },
    });
    const svc = await startTestService('distributed', { workers: false });
    let first: ServiceProcess | undefined;
    let second: ServiceProcess | undefined;
    try {
      first = await startCliService(
        'worker',
        workerEnv(svc, join(work.path, 'a'), { BTFWATCH_JOB_LOCK_MS: '4000' }),
      );
      await addAndScan(svc, mirror);
      const ingest = await until('the ingest to be well under way', async () => {
        const [job] = await svc.queue.list({ names: ['ingest-package'], states: ['active'], limit: 1 });
        return job && Number(job.progress?.modules ?? 0) >= 500 ? job : undefined;
      });
      first.child.kill('SIGKILL');
      await new Promise((r) => first!.child.once('exit', r));
      first = undefined;

      const { db } = svc.database;
      const sha = String(ingest.data.sha256);
      const [row] = await db.select().from(packages).where(eq(packages.sha256, sha));
      assert.equal(row?.status, 'pending', 'the package is not marked ingested');
      assert.equal(
        (await db.select().from(moduleBuilds).where(eq(moduleBuilds.packageSha256, sha))).length,
        0,
        'no partial rows',
      );

      // The replacement runs on the dead worker's DATA_DIR, as a restarted container would.
      const downloads = join(work.path, 'a', 'downloads');
      assert.ok(scratchLeft(downloads).length > 0, 'the killed ingest left its scratch behind');
      second = await startCliService(
        'worker',
        workerEnv(svc, join(work.path, 'a'), { BTFWATCH_JOB_LOCK_MS: '4000' }),
      );
      const done = await until(
        'the retried ingest',
        async () => {
          const job = await svc.queue.get(ingest.id);
          return job?.state === 'completed' ? job : undefined;
        },
        300_000,
      );
      assert.equal(done.result?.modules, 4023);
      assert.equal(
        (await db.select().from(moduleBuilds).where(eq(moduleBuilds.packageSha256, sha))).length,
        4023,
      );
      const [after] = await db.select().from(packages).where(eq(packages.sha256, sha));
      assert.equal(after?.status, 'ingested');
      assert.deepEqual(scratchLeft(downloads), [], 'swept at start, and the retried job removed its own');
    } finally {
      first?.child.kill('SIGKILL');
      await second?.stop();
      await svc.close();
      await mirror.close();
      work.remove();
    }
  },
);

test(
  'embedded: serve SIGKILLed mid-ingest loses nothing; the restarted serve completes the job',
  { timeout: 400_000 },
  async () => {
    const work = tempDir();
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [fullImagePackage()] } } },
    });
    const env = {
      DATA_DIR: join(work.path, 'data'),
      DATABASE_URL: '',
      REDIS_URL: '',
      BTFWATCH_ADMIN_TOKEN: ADMIN_TOKEN,
      BTFWATCH_SCAN_INTERVAL: '0',
    };
    const headers = authHeader();
    let serve: ServiceProcess | undefined;
    try {
      serve = await startCliService('serve', env);
      const add = await fetch(`${serve.url}/v1/mirrors`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'apt',
          url: mirror.aptUrl,
          suites: ['bookworm-security'],
          keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
        }),
      });
      const { id } = (await add.json()) as { id: number };
      await fetch(`${serve.url}/v1/mirrors/${id}/scan`, { method: 'POST', headers });
      const url = serve.url;
      const active = await until('the ingest to be well under way', async () => {
        const res = await fetch(`${url}/v1/jobs?name=ingest-package&state=active`, { headers });
        const [job] = (
          (await res.json()) as { items: Array<{ id: string; progress: { modules?: number } | null }> }
        ).items;
        return job && (job.progress?.modules ?? 0) >= 500 ? job : undefined;
      });
      serve.child.kill('SIGKILL');
      await new Promise((r) => serve!.child.once('exit', r));
      const downloads = join(env.DATA_DIR, 'downloads');
      assert.ok(scratchLeft(downloads).length > 0, 'the killed ingest left its scratch behind');

      serve = await startCliService('serve', env);
      const restarted = serve.url;
      const job = await until(
        'the requeued ingest',
        async () => {
          const res = await fetch(`${restarted}/v1/jobs/${active.id}`);
          const j = (await res.json()) as {
            state: string;
            attempts: number;
            result: { modules: number } | null;
          };
          return j.state === 'completed' || j.state === 'failed' ? j : undefined;
        },
        300_000,
      );
      assert.equal(job.state, 'completed');
      assert.equal(job.attempts, 2, 'the killed attempt counted, the second completed');
      assert.equal(job.result?.modules, 4023);
      assert.deepEqual(scratchLeft(downloads), [], 'swept at start, and the retried job removed its own');
      const kernels = (await (await fetch(`${restarted}/v1/kernels`)).json()) as {
        items: Array<{ release: string; nrTypes: number }>;
      };
      assert.deepEqual(
        kernels.items.map((k) => [k.release, k.nrTypes]),
        [['6.1.0-55-amd64', 100800]],
      );
    } finally {
      await serve?.stop();
      await mirror.close();
      work.remove();
    }
  },
);
