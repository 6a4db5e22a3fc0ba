import { createHash } from 'node:crypto';
import {
  bumpIngestGeneration,
  getMirror,
  getSuiteState,
  pendingPackages,
  recordScan,
  recordSeenPackage,
  saveSuiteState,
  type Database,
  type Mirror,
  type PendingPackage,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import {
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
  const common = { ...(mirror.match ? { match: mirror.match } : {}), insecure: mirror.insecure };
  const keys = mirror.keyring ? { keyring: mirror.keyring } : {};
  const scanDeps = { downloader: deps.downloader, dir: deps.scratchDir, now: deps.now };
  if (mirror.kind === 'apt') {
    return scanApt(
      {
        url: mirror.url,
        suite,
        components: mirror.components,
        architectures: [mirror.arch],
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

/**
 * Scans every suite of a mirror (conditionally: an unchanged index costs one request), records the
 * kernel-related packages it lists, and queues an ingest for each package not ingested yet.
 */
export function scanMirrorProcessor(deps: ScanDeps): Processor<'scan-mirror'> {
  return async (job) => {
    const { db } = deps.database;
    const mirror = await getMirror(db, job.data.mirrorId);
    if (!mirror)
      throw new PermanentJobError('MIRROR_NOT_FOUND', `mirror ${job.data.mirrorId} does not exist`);
    let found = 0;
    const summary: Array<Record<string, unknown>> = [];
    try {
      for (const [i, suite] of mirror.suites.entries()) {
        const previous = await getSuiteState(db, mirror.id, suite);
        const result = await scanSuite(deps, mirror, suite, previous?.state ?? {});
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
        summary.push({
          suite,
          changed: result.changed,
          insecure: result.insecure,
          warnings: result.warnings,
        });
        if (result.insecure)
          deps.logger.warn(
            { mirror: mirror.id, suite },
            'scanned without signature checking (insecure mirror)',
          );
        await job.updateProgress({
          suites: i + 1,
          of: mirror.suites.length,
          packagesFound: found,
        });
      }
      const ingests = await queuePendingIngests(db, deps.queue, mirror);
      await job.updateProgress({
        suites: mirror.suites.length,
        of: mirror.suites.length,
        packagesFound: found,
        ingestsQueued: ingests.queued,
      });
      await recordScan(db, mirror.id, deps.now(), null);
      return {
        suites: summary,
        packagesFound: found,
        ingestsQueued: ingests.queued,
        ingestsRetried: ingests.retried,
      };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const permanent =
        err instanceof MirrorSignatureError ||
        err instanceof MirrorConfigError ||
        (err instanceof MirrorError && !err.transient);
      // The outbox: the event commits with the failure it reports, and is delivered even if this
      // process dies before queueing it.
      const deliveries = await db.transaction(async (tx) => {
        await recordScan(tx, mirror.id, deps.now(), message);
        return recordEvent(tx, deps.now(), 'scan.failed', {
          mirror: { id: mirror.id, url: mirror.url, kind: mirror.kind },
          error: { code: (err as { code?: string }).code ?? 'UNKNOWN', message },
          willRetry: !permanent,
        });
      });
      await queueDeliveries(webhookDeps(deps), deliveries);
      if (permanent) throw new PermanentJobError((err as { code: string }).code, message, { cause: err });
      throw err;
    }
  };
}
