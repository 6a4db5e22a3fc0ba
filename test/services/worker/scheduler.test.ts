import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMirror, migrateDatabase, openDatabase, type DatabaseHandle } from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { BullmqJobQueue, DbJobQueue, queueDueScans } from '@btfwatch/worker';
import type { JobQueue } from '@btfwatch/jobs';
import {
  REDIS_URL,
  createTempDatabase,
  tempDir,
  uniqueQueuePrefix,
  type TempDatabase,
} from '../../support/services.ts';

const HOUR = 3600;

interface Setup {
  database: DatabaseHandle;
  /** Two schedulers' queues: separate clients of the same queue store. */
  queues: [JobQueue, JobQueue];
  close(): Promise<void>;
}

async function setup(mode: 'embedded' | 'distributed'): Promise<Setup> {
  const dir = tempDir('btfwatch-sched-');
  let temp: TempDatabase | undefined;
  if (mode === 'distributed') temp = await createTempDatabase();
  const database = await openDatabase(temp ? { url: temp.url } : { dataDir: dir.path });
  await migrateDatabase(database);
  const prefix = uniqueQueuePrefix();
  const queues: [JobQueue, JobQueue] =
    mode === 'distributed'
      ? [new BullmqJobQueue({ url: REDIS_URL, prefix }), new BullmqJobQueue({ url: REDIS_URL, prefix })]
      : [new DbJobQueue(database.db), new DbJobQueue(database.db)];
  return {
    database,
    queues,
    close: async () => {
      for (const q of queues) await q.close();
      await database.close();
      await temp?.drop();
      dir.remove();
    },
  };
}

async function scanJobs(queue: JobQueue): Promise<string[]> {
  return (await queue.list({ names: ['scan-mirror'], limit: 100 })).map((j) => j.id).sort();
}

for (const mode of ['embedded', 'distributed'] as const) {
  test(`${mode}: scheduled scans follow each mirror's interval (or the default), once per slot however many schedulers`, async () => {
    const s = await setup(mode);
    try {
      const { db } = s.database;
      const now = new Date('2026-11-25T12:00:00Z');
      const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
      const mirror = (name: string, scanIntervalSeconds: number | null, lastScanAt: Date | null) =>
        createMirror(db, {
          kind: 'apt',
          url: `http://127.0.0.1:9/${name}`,
          suites: ['bookworm'],
          components: ['main'],
          arch: 'amd64',
          distro: 'debian',
          scanIntervalSeconds,
          lastScanAt,
        });
      const never = await mirror('never-scanned', 600, null);
      const ownRecent = await mirror('own-interval-recent', 60, ago(30));
      const ownDue = await mirror('own-interval-due', 60, ago(61));
      const defaultRecent = await mirror('default-recent', null, ago(HOUR / 2));
      const defaultDue = await mirror('default-due', null, ago(HOUR + 1));
      const options = (at: Date, defaultIntervalSeconds = HOUR) => ({
        defaultIntervalSeconds,
        now: () => at,
      });

      // Two schedulers tick at the same moment: each due mirror is queued once, under its slot's id.
      const [a, b] = await Promise.all(s.queues.map((q) => queueDueScans(db, q, options(now))));
      const slot = (id: number, interval: number, at = now) =>
        jobIds.scheduledScan(id, interval, at.getTime());
      const expected = [slot(never.id, 600), slot(ownDue.id, 60), slot(defaultDue.id, HOUR)].sort();
      assert.deepEqual([...a!].sort(), expected);
      assert.deepEqual([...b!].sort(), expected, 'the other scheduler names the same jobs');
      assert.deepEqual(await scanJobs(s.queues[0]), expected, 'and they exist once');
      for (const m of [ownRecent, defaultRecent])
        assert.ok(!expected.some((id) => id.startsWith(`scan-mirror.${m.id}.`)), `${m.url} is not due`);
      const job = await s.queues[1].get(slot(never.id, 600));
      assert.deepEqual(job?.data, { mirrorId: never.id, trigger: 'schedule' });

      // Later in the same slots (the scans have not run yet): nothing new.
      const sameSlot = new Date(now.getTime() + 20_000);
      assert.equal(Math.floor(sameSlot.getTime() / 60_000), Math.floor(now.getTime() / 60_000));
      await Promise.all(s.queues.map((q) => queueDueScans(db, q, options(sameSlot))));
      assert.deepEqual(await scanJobs(s.queues[0]), expected);

      // The next 60 s slot: only the 60 s mirrors that are still due get a new job.
      const next = new Date((Math.floor(now.getTime() / 60_000) + 1) * 60_000);
      await Promise.all(s.queues.map((q) => queueDueScans(db, q, options(next))));
      assert.deepEqual(
        await scanJobs(s.queues[0]),
        [...expected, slot(ownDue.id, 60, next), slot(ownRecent.id, 60, next)].sort(),
      );

      // A default of 0 disables mirrors without their own interval; their own intervals still apply.
      const disabled = await queueDueScans(
        db,
        s.queues[0],
        options(new Date(now.getTime() + 7 * HOUR * 1000), 0),
      );
      assert.deepEqual(
        disabled.map((id) => Number(id.split('.')[1])).sort((x, y) => x - y),
        [never.id, ownRecent.id, ownDue.id],
      );
    } finally {
      await s.close();
    }
  });
}
