import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { migrateDatabase, openDatabase, jobs } from '@btfwatch/db';
import {
  BullmqJobQueue,
  DbJobQueue,
  PermanentJobError,
  startBullmqWorkers,
  startInProcessRunner,
} from '@btfwatch/worker';
import type { JobInfo, JobQueue, Processors } from '@btfwatch/jobs';
import { eq } from 'drizzle-orm';
import { REDIS_URL, tempDir, uniqueQueuePrefix } from '../../support/services.ts';

const logger = pino({ level: 'silent' });

/** Test processors for the evaluate-kernel queue: behaviour chosen by kernelBuildId. */
function testProcessors(calls: Map<number, number>): Processors {
  return {
    'evaluate-kernel': async (job) => {
      const id = job.data.kernelBuildId;
      const n = (calls.get(id) ?? 0) + 1;
      calls.set(id, n);
      await job.updateProgress({ step: n });
      if (id === 1) return { ok: true, attempt: job.attempt };
      if (id === 2 && n < 3) throw new Error(`transient failure ${n}`);
      if (id === 2) return { ok: true, attempt: job.attempt };
      throw new PermanentJobError('KERNEL_NOT_FOUND', `kernel ${id} does not exist`);
    },
  };
}

async function waitFor(queue: JobQueue, id: string, states: string[]): Promise<JobInfo> {
  for (let i = 0; i < 400; i++) {
    const job = await queue.get(id);
    if (job && states.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never reached ${states.join('|')}: ${JSON.stringify(await queue.get(id))}`);
}

async function exerciseQueue(queue: JobQueue) {
  const calls = new Map<number, number>();
  return {
    calls,
    processors: testProcessors(calls),
    async run() {
      const a = await queue.enqueue(
        'evaluate-kernel',
        { kernelBuildId: 1 },
        { jobId: 'evaluate-kernel.1.x' },
      );
      const again = await queue.enqueue(
        'evaluate-kernel',
        { kernelBuildId: 1 },
        { jobId: 'evaluate-kernel.1.x' },
      );
      assert.equal(again, a, 'the same job id enqueues one job');
      await queue.enqueue('evaluate-kernel', { kernelBuildId: 2 }, { jobId: 'evaluate-kernel.2.x' });
      await queue.enqueue('evaluate-kernel', { kernelBuildId: 3 }, { jobId: 'evaluate-kernel.3.x' });

      const ok = await waitFor(queue, 'evaluate-kernel.1.x', ['completed']);
      assert.deepEqual(ok.result, { ok: true, attempt: 1 });
      assert.deepEqual(ok.progress, { step: 1 });
      const retried = await waitFor(queue, 'evaluate-kernel.2.x', ['completed']);
      assert.equal(retried.attempts, 3, 'transient failures are retried with backoff');
      const permanent = await waitFor(queue, 'evaluate-kernel.3.x', ['failed']);
      assert.equal(permanent.attempts, 1, 'permanent failures are not retried');
      assert.match(permanent.error ?? '', /kernel 3 does not exist/);
      assert.equal(calls.get(1), 1);
      const listed = await queue.list({ names: ['evaluate-kernel'] });
      assert.deepEqual(listed.map((j) => j.id).sort(), [
        'evaluate-kernel.1.x',
        'evaluate-kernel.2.x',
        'evaluate-kernel.3.x',
      ]);
      const counts = await queue.counts();
      assert.equal(counts.completed, 2);
      assert.equal(counts.failed, 1);
    },
  };
}

test('in-process queue: dedupe, progress, retry with backoff, permanent failure', async () => {
  const dir = tempDir();
  const database = await openDatabase({ dataDir: dir.path });
  await migrateDatabase(database);
  const queue = new DbJobQueue(database.db, 0.001);
  const scenario = await exerciseQueue(queue);
  const runner = startInProcessRunner(queue, scenario.processors, { concurrency: 2, pollMs: 20 }, logger);
  try {
    await scenario.run();
  } finally {
    await runner.close();
    await database.close();
    dir.remove();
  }
});

test('in-process queue: a job left active by a killed process runs again on the next start', async () => {
  const dir = tempDir();
  const database = await openDatabase({ dataDir: dir.path });
  await migrateDatabase(database);
  const queue = new DbJobQueue(database.db, 0.001);
  await queue.enqueue('evaluate-kernel', { kernelBuildId: 1 }, { jobId: 'evaluate-kernel.1.crash' });
  // What a process killed mid-job leaves behind: the row claimed and active.
  await database.db
    .update(jobs)
    .set({ state: 'active', lockedBy: 'dead', attempts: 1 })
    .where(eq(jobs.id, 'evaluate-kernel.1.crash'));
  const calls = new Map<number, number>();
  const runner = startInProcessRunner(queue, testProcessors(calls), { concurrency: 1, pollMs: 20 }, logger);
  try {
    const job = await waitFor(queue, 'evaluate-kernel.1.crash', ['completed']);
    assert.equal(calls.get(1), 1);
    assert.equal(job.attempts, 2);
  } finally {
    await runner.close();
    await database.close();
    dir.remove();
  }
});

test('BullMQ queue: dedupe, progress, retry with backoff, permanent failure', async () => {
  const prefix = uniqueQueuePrefix();
  const queue = new BullmqJobQueue({ url: REDIS_URL, prefix, backoffScale: 0.001 });
  const scenario = await exerciseQueue(queue);
  const host = startBullmqWorkers(
    { url: REDIS_URL, prefix, concurrency: 2, name: 'w1' },
    scenario.processors,
    logger,
  );
  try {
    await scenario.run();
    assert.equal((await queue.get('evaluate-kernel.1.x'))?.processedBy, 'w1');
  } finally {
    await host.close();
    await queue.close();
  }
});
