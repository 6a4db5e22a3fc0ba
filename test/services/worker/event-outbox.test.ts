// kernel.ingested and scan.failed go through the transactional outbox: their deliveries commit with what
// they announce, so a worker dying between its commit and the enqueue that follows loses nothing — the
// scheduler's sweeper queues the overdue delivery, and it arrives once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { createWebhook, getMirror, webhookDeliveries, type DatabaseHandle } from '@btfwatch/db';
import { generateSecret } from '@btfwatch/webhooks';
import { DEFAULT_DELIVERY_GRACE_MS, sweepDeliveries, type DbJobQueue } from '@btfwatch/worker';
import type { JobQueue } from '@btfwatch/jobs';
import { eq } from 'drizzle-orm';
import { RELEASES } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror, tamperInRelease } from '../../support/mirror-server/index.ts';
import { Receiver } from '../../support/receiver.ts';
import { tempDir } from '../../support/services.ts';
import { SUITE, startWorkerHarness, type WorkerHarness } from '../../support/worker-harness.ts';

const ENV = { BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1' };
let work: ReturnType<typeof tempDir>;
let image: string;

before(async () => {
  work = tempDir();
  ({ image } = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path));
});
after(() => work?.remove());

interface Envelope {
  type: string;
  data: Record<string, unknown>;
}

async function subscribe(database: DatabaseHandle, receiver: Receiver, events: string[]) {
  const secret = generateSecret();
  await createWebhook(database.db, { url: receiver.url, secret, events });
  return (): Envelope[] =>
    receiver.received.map(
      (r) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Envelope,
    );
}

/** The pending deliveries of `event`, then a sweep late enough to find them overdue, and the queue drained. */
async function sweepOverdue(h: WorkerHarness, event: string) {
  const pending = await h.database.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.event, event));
  assert.ok(pending.length > 0, `a ${event} delivery was committed`);
  const latest = Math.max(...pending.map((d) => d.nextAttemptAt?.getTime() ?? 0));
  const later = new Date(latest + DEFAULT_DELIVERY_GRACE_MS + 1000);
  const swept = await sweepDeliveries(h.database.db, h.queue, {
    defaultIntervalSeconds: 0,
    now: () => later,
  });
  await h.idle();
  return { pending, swept };
}

test('kernel.ingested: a worker dying right after the ingest commits still announces the kernel, once', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [image] } } } });
  const receiver = new Receiver();
  await receiver.start();
  // The first job queued after the ingest's commit (its event's delivery, or an evaluation) never gets
  // queued: the enqueue fails the way a process dying at that point would leave it.
  const crashed: string[] = [];
  const crashOnce = (queue: DbJobQueue): JobQueue => {
    const wrapped = Object.create(queue) as JobQueue;
    wrapped.enqueue = async (name, data, options) => {
      if (crashed.length === 0 && (name === 'deliver-webhook' || name === 'evaluate-kernel')) {
        crashed.push(name);
        throw new Error(`worker died before queueing ${options.jobId}`);
      }
      return queue.enqueue(name, data, options);
    };
    return wrapped;
  };
  const h = await startWorkerHarness({ env: ENV, processorQueue: crashOnce });
  try {
    const received = await subscribe(h.database, receiver, ['kernel.ingested']);
    await h.scan(await h.addMirror(mirror));
    assert.equal(crashed.length, 1, 'the crash happened');
    const [ingest] = await h.queue.list({ names: ['ingest-package'] });
    assert.equal(ingest?.state, 'completed', ingest?.error ?? '');
    assert.equal(ingest?.attempts, 2, 'the crashed attempt, then one that found the package stored');
    assert.deepEqual(received(), [], 'nothing delivered yet: the job was lost');

    const { pending, swept } = await sweepOverdue(h, 'kernel.ingested');
    assert.equal(pending.length, 1, 'the delivery was committed with the kernel build, once');
    assert.equal(pending[0]!.attempts, 0);
    assert.equal(swept.length, 1);
    const events = received();
    assert.equal(events.length, 1, 'delivered exactly once');
    assert.equal(events[0]!.type, 'kernel.ingested');
    const data = events[0]!.data as { kernel: { id: number; release: string; baseBtfSha256: string } };
    assert.equal(data.kernel.release, RELEASES.bookworm56);
    assert.match(data.kernel.baseBtfSha256, /^[0-9a-f]{64}$/);
    const [row] = await h.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.id, pending[0]!.id));
    assert.equal(row?.status, 'delivered');
    assert.equal(receiver.received[0]!.headers['webhook-id'], row?.id);
  } finally {
    await h.close();
    await receiver.stop();
    await mirror.close();
  }
});

test('scan.failed: committed with the failure it reports; its lost job is swept and delivered once', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [image] } } } });
  const receiver = new Receiver();
  await receiver.start();
  const lost: string[] = [];
  const losing = (queue: DbJobQueue): JobQueue => {
    const wrapped = Object.create(queue) as JobQueue;
    wrapped.enqueue = async (name, data, options) => {
      if (name === 'deliver-webhook' && lost.length === 0) {
        lost.push(options.jobId);
        return options.jobId;
      }
      return queue.enqueue(name, data, options);
    };
    return wrapped;
  };
  const h = await startWorkerHarness({ env: ENV, processorQueue: losing });
  try {
    const received = await subscribe(h.database, receiver, ['scan.failed']);
    const mirrorId = await h.addMirror(mirror);
    // What the mirror serves as InRelease has its signed text changed: a permanent failure.
    tamperInRelease(mirror, SUITE);
    const scan = await h.scan(mirrorId);
    assert.equal(scan?.state, 'failed');
    assert.equal(lost.length, 1, 'the delivery job was lost');
    assert.ok((await getMirror(h.database.db, mirrorId))?.lastScanError, 'the failure is recorded');
    assert.deepEqual(received(), []);

    const { pending, swept } = await sweepOverdue(h, 'scan.failed');
    assert.equal(pending.length, 1);
    assert.equal(swept.length, 1);
    const events = received();
    assert.equal(events.length, 1, 'delivered exactly once');
    const data = events[0]!.data as { mirror: { id: number }; error: { code: string }; willRetry: boolean };
    assert.equal(data.mirror.id, mirrorId);
    assert.equal(data.willRetry, false, 'a bad signature is not retried');
    assert.ok(data.error.code);
  } finally {
    await h.close();
    await receiver.stop();
    await mirror.close();
  }
});
