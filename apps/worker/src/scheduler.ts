import { listMirrors, type Database } from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import type { Logger } from 'pino';
import type { JobQueue } from './queue/types.ts';
import { attemptLeaseMs, requeueOverdueDeliveries } from '@btfwatch/outbox';

export interface SchedulerOptions {
  /** Default seconds between scans of a mirror without its own interval; 0 disables. */
  defaultIntervalSeconds: number;
  /** How often mirrors are looked at. */
  tickMs?: number;
  now?: () => Date;
  /**
   * How long past due a pending webhook delivery may sit before the sweeper queues its job again (longer
   * than an attempt's lease, so an attempt in flight is never doubled).
   */
  deliveryGraceMs?: number;
}

/** A minute more than the default attempt lease. */
export const DEFAULT_DELIVERY_GRACE_MS = attemptLeaseMs() + 60_000;

/**
 * Queues scheduled mirror scans. Every worker process runs one; the job id is the mirror and its schedule
 * slot, so however many schedulers race, each slot's scan is queued once.
 */
export async function queueDueScans(
  db: Database,
  queue: JobQueue,
  options: SchedulerOptions,
): Promise<string[]> {
  const now = (options.now ?? (() => new Date()))();
  const queued: string[] = [];
  for (const mirror of await listMirrors(db)) {
    const interval = mirror.scanIntervalSeconds ?? options.defaultIntervalSeconds;
    if (!interval) continue;
    const last = mirror.lastScanAt?.getTime() ?? 0;
    if (now.getTime() - last < interval * 1000) continue;
    queued.push(
      await queue.enqueue(
        'scan-mirror',
        { mirrorId: mirror.id, trigger: 'schedule' },
        { jobId: jobIds.scheduledScan(mirror.id, interval, now.getTime()) },
      ),
    );
  }
  return queued;
}

/**
 * The webhook outbox sweeper, run on the same tick: deliveries recorded but never queued (a crash between a
 * commit and its enqueue), or whose job was lost, are queued again.
 */
export function sweepDeliveries(db: Database, queue: JobQueue, options: SchedulerOptions): Promise<string[]> {
  return requeueOverdueDeliveries(db, queue, {
    now: (options.now ?? (() => new Date()))(),
    graceMs: options.deliveryGraceMs ?? DEFAULT_DELIVERY_GRACE_MS,
  });
}

export function startScheduler(
  db: Database,
  queue: JobQueue,
  options: SchedulerOptions,
  logger: Logger,
): { close(): void } {
  const tick = () =>
    Promise.all([
      queueDueScans(db, queue, options).then(
        (ids) => ids.length && logger.info({ jobs: ids }, 'scheduled scans queued'),
        (err: unknown) => logger.warn({ err: String(err) }, 'scheduler tick failed'),
      ),
      sweepDeliveries(db, queue, options).then(
        (ids) => ids.length && logger.info({ jobs: ids }, 'overdue webhook deliveries queued again'),
        (err: unknown) => logger.warn({ err: String(err) }, 'webhook delivery sweep failed'),
      ),
    ]);
  const timer = setInterval(tick, options.tickMs ?? 60_000);
  timer.unref();
  void tick();
  return { close: () => clearInterval(timer) };
}
