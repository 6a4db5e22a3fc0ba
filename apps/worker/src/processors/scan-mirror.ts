import { createHash } from 'node:crypto';
import {
  bumpIngestGeneration,
  getMirror,
  getSuiteState,
  pendingPackages,
  recordScan,
  recordSeenPackage,
  recordSuiteError,
  saveSuiteState,
  type Database,
  type Mirror,
  type MirrorScanWarning,
  type PendingPackage,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import {
  MirrorAbortedError,
  MirrorConfigError,
  MirrorError,
  MirrorSignatureError,
  scanApt,
  scanRpm,
  type AptScanResult,
  type Downloader,
  type RpmScanResult,
} from '@btfwatch/mirror';
import type { JobQueue, Processor } from '../queue/types.ts';
import { PermanentJobError } from '../queue/types.ts';
import { queueDeliveries, recordEvent } from '@btfwatch/outbox';
import { scanFailedEvent, type EventSuiteFailure } from '@btfwatch/webhooks';
import type { ProcessorDeps } from './index.ts';
import { webhookDeps } from './index.ts';

export interface ScanDeps extends ProcessorDeps {
  downloader: Downloader;
  scratchDir: string;
}

type ScanResult = AptScanResult | RpmScanResult;

async function scanSuite(
  deps: ScanDeps,
  mirror: Mirror,
  suite: string,
  state: Record<string, unknown>,
): Promise<ScanResult> {
  const common = { ...(mirror.match.length > 0 ? { match: mirror.match } : {}), insecure: mirror.insecure };
  const keys = mirror.keyring ? { keyring: mirror.keyring } : {};
  const scanDeps = { downloader: deps.downloader, dir: deps.scratchDir, now: deps.now };
  if (mirror.kind === 'apt') {
    return scanApt(
      {
        url: mirror.url,
        suite,
        components: mirror.components,
        architectures: [mirror.arch],
        allowExpired: mirror.allowExpired,
        ...common,
        ...keys,
      },
      state,
      scanDeps,
    );
  }
  const url = suite === '.' ? mirror.url : `${mirror.url}/${suite.replace(/^\/+/, '')}`;
  return scanRpm(
    {
      url,
      architectures: [mirror.arch, 'noarch'],
      ...common,
      ...(mirror.keyring ? { key: mirror.keyring } : {}),
    },
    state,
    scanDeps,
  );
}

/**
 * When the index that lists the packages was published: apt's Release `Date:`, rpm's primary metadata
 * timestamp (repomd). A package it lists for the first time was published then or earlier. Null when the
 * index carries no date.
 */
export function indexDate(result: ScanResult): Date | null {
  if (!result.changed) return null;
  if (result.kind === 'apt') return result.release.date ? new Date(result.release.date) : null;
  const seconds = result.indexes.find((i) => i.type === 'primary')?.timestamp;
  return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000) : null;
}

function ingestPayload(mirror: Mirror, p: PendingPackage) {
  return {
    mirrorId: mirror.id,
    suite: p.suite,
    url: p.url,
    sha256: p.pkg.sha256,
    size: p.pkg.size,
    name: p.pkg.name,
    version: p.pkg.version,
    arch: p.pkg.arch,
    format: p.pkg.format,
    role: p.pkg.role,
    source: p.pkg.source ?? undefined,
    sourceVersion: p.pkg.sourceVersion ?? undefined,
    depends: p.pkg.depends,
    provides: p.pkg.provides,
  };
}

/**
 * Makes sure every package the mirror lists that is not ingested yet has a live ingest job: a package
 * new to this scan gets its first one; one whose job failed (retries used up on transient faults, or
 * lost) gets a job under its next generation. Packages that failed for good (malformed) are not pending
 * and are left alone.
 */
async function queuePendingIngests(
  db: Database,
  queue: JobQueue,
  mirror: Mirror,
): Promise<{ queued: number; retried: number }> {
  let queued = 0;
  let retried = 0;
  for (const p of await pendingPackages(db, mirror.id)) {
    let generation = p.pkg.ingestGeneration;
    const job = await queue.get(jobIds.ingest(p.pkg.sha256, generation));
    if (job && job.state !== 'failed') continue;
    if (job) {
      generation = await bumpIngestGeneration(db, p.pkg.sha256, generation);
      retried++;
    }
    await queue.enqueue('ingest-package', ingestPayload(mirror, p), {
      jobId: jobIds.ingest(p.pkg.sha256, generation),
    });
    queued++;
  }
  return { queued, retried };
}

/** A suite's scan that failed while the others went on. */
interface SuiteFailure {
  suite: string;
  error: MirrorError;
}

function isPermanentScanError(err: unknown): boolean {
  return (
    err instanceof MirrorSignatureError ||
    err instanceof MirrorConfigError ||
    (err instanceof MirrorError && !err.transient)
  );
}

/**
 * Scans every suite of a mirror (conditionally: an unchanged index costs one request), records the
 * kernel-related packages it lists, and queues an ingest for each package not ingested yet.
 *
 * A suite whose scan fails with a mirror error (its Packages cannot be had as listed, a bad signature,
 * an expired Release) fails alone: the error is kept with the suite, its last good state stays, and the
 * other suites go on. The job fails only when every suite did. What the scan noticed without failing
 * (a Contents it had to do without, patterns matching nothing) is kept as warnings on the mirror and
 * in the job's progress and result.
 */
export function scanMirrorProcessor(deps: ScanDeps): Processor<'scan-mirror'> {
  return async (job) => {
    const { db } = deps.database;
    const mirror = await getMirror(db, job.data.mirrorId);
    if (!mirror)
      throw new PermanentJobError('MIRROR_NOT_FOUND', `mirror ${job.data.mirrorId} does not exist`);
    let found = 0;
    const summary: Array<Record<string, unknown>> = [];
    const warnings: MirrorScanWarning[] = [];
    const failures: SuiteFailure[] = [];
    const trust = { insecure: mirror.insecure, allowExpired: mirror.allowExpired };
    try {
      for (const [i, suite] of mirror.suites.entries()) {
        const previous = await getSuiteState(db, mirror.id, suite);
        let result: ScanResult;
        try {
          result = await scanSuite(deps, mirror, suite, previous?.state ?? {});
        } catch (err) {
          if (!(err instanceof MirrorError) || err instanceof MirrorAbortedError) throw err;
          failures.push({ suite, error: err });
          await recordSuiteError(db, mirror.id, suite, deps.now(), `${err.code}: ${err.message}`);
          summary.push({ suite, ...trust, error: { code: err.code, message: err.message } });
          deps.logger.warn(
            { mirror: mirror.id, suite, code: err.code, err: err.message, ...trust },
            'suite scan failed; the other suites go on',
          );
          await job.updateProgress({
            suites: i + 1,
            of: mirror.suites.length,
            packagesFound: found,
            suitesFailed: failures.length,
            warnings,
          });
          continue;
        }
        if (result.changed) {
          const publishedAt = indexDate(result);
          for (const c of result.packages) {
            found++;
            await recordSeenPackage(
              db,
              {
                sha256: c.sha256,
                format: mirror.kind === 'apt' ? 'deb' : 'rpm',
                name: c.name,
                version: c.version,
                arch: c.arch,
                source: c.source.name,
                sourceVersion: c.source.version,
                size: c.size,
                role: c.role,
                depends: c.depends,
                provides: c.provides,
              },
              { mirrorId: mirror.id, suite, url: c.url, publishedAt },
            );
          }
        }
        const stateJson = JSON.stringify(result.state);
        await saveSuiteState(db, {
          mirrorId: mirror.id,
          suite,
          indexSha256: createHash('sha256').update(stateJson).digest('hex'),
          etag: null,
          lastModified: null,
          signedBy: result.insecure
            ? 'insecure'
            : result.changed
              ? result.signature.signers.map((s) => s.fingerprint ?? s.keyId).join(',') || null
              : (previous?.signedBy ?? null),
          scannedAt: deps.now(),
          state: result.state as Record<string, unknown>,
        });
        for (const w of result.warnings) warnings.push({ suite, code: w.code, message: w.message });
        summary.push({
          suite,
          changed: result.changed,
          ...trust,
          packages: result.changed ? result.packages.length : 0,
          warnings: result.warnings,
        });
        if (result.insecure)
          deps.logger.warn(
            { mirror: mirror.id, suite },
            'scanned without signature checking (insecure mirror)',
          );
        if (result.warnings.some((w) => w.code === 'RELEASE_EXPIRED'))
          deps.logger.warn({ mirror: mirror.id, suite }, 'scanned an expired Release (allowExpired mirror)');
        // Kept on the mirror and in the job for whoever looks; the log has them for the record.
        for (const w of result.warnings)
          deps.logger.info({ mirror: mirror.id, suite, code: w.code }, w.message);
        await job.updateProgress({
          suites: i + 1,
          of: mirror.suites.length,
          packagesFound: found,
          suitesFailed: failures.length,
          warnings,
        });
      }
      if (failures.length === mirror.suites.length && failures[0]) {
        // Nothing worked: the job itself fails, for good only when no cause can pass by itself.
        throw new EverySuiteFailed(failures);
      }
      const ingests = await queuePendingIngests(db, deps.queue, mirror);
      await job.updateProgress({
        suites: mirror.suites.length,
        of: mirror.suites.length,
        packagesFound: found,
        suitesFailed: failures.length,
        ingestsQueued: ingests.queued,
        warnings,
      });
      const partial = failures.length
        ? failures.map((f) => `${f.suite}: ${f.error.code}: ${f.error.message}`).join('; ')
        : null;
      if (partial) {
        // Some suites failed while the others went on: subscribers hear of it, with the job's completion.
        const deliveries = await db.transaction(async (tx) => {
          await recordScan(tx, mirror.id, deps.now(), partial, warnings);
          return recordEvent(
            tx,
            deps.now(),
            'scan.failed',
            scanFailedEvent(
              mirror,
              { code: failures[0]!.error.code, message: partial },
              { partial: true, failedSuites: suiteFailures(failures), willRetry: false },
            ),
          );
        });
        await queueDeliveries(webhookDeps(deps), deliveries);
      } else {
        await recordScan(db, mirror.id, deps.now(), null, warnings);
      }
      return {
        suites: summary,
        packagesFound: found,
        ingestsQueued: ingests.queued,
        ingestsRetried: ingests.retried,
        failedSuites: suiteFailures(failures),
        warnings,
      };
    } catch (err) {
      const failure =
        err instanceof EverySuiteFailed
          ? err
          : {
              code:
                typeof (err as { code?: unknown }).code === 'string'
                  ? (err as { code: string }).code
                  : 'UNKNOWN',
              message: err instanceof Error ? err.message : String(err),
              permanent: isPermanentScanError(err),
              cause: err,
            };
      // The outbox: the event commits with the failure it reports, and is delivered even if this
      // process dies before queueing it.
      const deliveries = await db.transaction(async (tx) => {
        await recordScan(tx, mirror.id, deps.now(), failure.message, warnings);
        return recordEvent(
          tx,
          deps.now(),
          'scan.failed',
          scanFailedEvent(mirror, failure, {
            partial: false,
            failedSuites: err instanceof EverySuiteFailed ? suiteFailures(err.failures) : [],
            willRetry: !failure.permanent,
          }),
        );
      });
      await queueDeliveries(webhookDeps(deps), deliveries);
      if (failure.permanent) {
        throw new PermanentJobError(failure.code, failure.message, { cause: failure.cause });
      }
      throw failure.cause;
    }
  };
}

function suiteFailures(failures: readonly SuiteFailure[]): EventSuiteFailure[] {
  return failures.map((f) => ({ suite: f.suite, code: f.error.code, message: f.error.message }));
}

/** Every suite of the mirror failed: the scan fails, with each suite's reason. */
class EverySuiteFailed extends Error {
  readonly code: string;
  readonly permanent: boolean;
  override readonly cause: MirrorError;

  constructor(readonly failures: readonly SuiteFailure[]) {
    super(failures.map((f) => `${f.suite}: ${f.error.message}`).join('; '));
    const first = failures[0]!.error;
    this.code = first.code;
    this.cause = first;
    this.permanent = failures.every((f) => isPermanentScanError(f.error));
  }
}
