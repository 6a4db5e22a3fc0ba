import { CompatError, coverageGaps, distroFromRelease } from '@btfwatch/compat';
import { BtfError } from '@btfwatch/btf';
import { ElfError } from '@btfwatch/elf';
import {
  getKernel,
  getMirror,
  getPackage,
  hasVmlinuxExports,
  markPackage,
  packageFootprint,
  recordIngestError,
  type KernelBuild,
} from '@btfwatch/db';
import { MirrorError, type Downloader } from '@btfwatch/mirror';
import { PkgError, extractPackageStream } from '@btfwatch/pkg';
import { kernelsAffected, queueEvaluations } from '@btfwatch/evaluate';
import { queueDeliveries, recordEvent } from '@btfwatch/outbox';
import { kernelIngestedEvent } from '@btfwatch/webhooks';
import { downloadAndRead, type ScratchDownload } from '../ingest/download.ts';
import { storePackage } from '../ingest/store.ts';
import { PermanentJobError, type Processor } from '../queue/types.ts';
import type { ProcessorDeps } from './index.ts';
import { webhookDeps } from './index.ts';

export interface IngestDeps extends ProcessorDeps {
  downloader: Downloader;
  scratchDir: string;
}

/** Malformed input: retrying cannot help. */
function isMalformed(err: unknown): boolean {
  return (
    err instanceof PkgError ||
    err instanceof ElfError ||
    err instanceof BtfError ||
    err instanceof CompatError ||
    (err instanceof MirrorError && !err.transient)
  );
}

/**
 * Downloads one package (verified against its index sha256) while extracting kernel and module facts from
 * the same bytes, stores them in one transaction once the bytes verified (with the kernel.ingested events
 * as an outbox: delivered even if this process dies right after the commit), and queues the evaluations
 * they affect.
 */
export function ingestPackageProcessor(deps: IngestDeps): Processor<'ingest-package'> {
  return async (job) => {
    const { db } = deps.database;
    const pkg = job.data;
    const existing = await getPackage(db, pkg.sha256);
    if (existing?.status === 'ingested') {
      // A run that stored the package may have died before queueing its evaluations: queue them again
      // (ids made of the inputs: those already queued or done are not repeated).
      const footprint = await packageFootprint(db, pkg.sha256);
      const kernels = (await Promise.all(footprint.kernelBuildIds.map((id) => getKernel(db, id)))).filter(
        (k): k is KernelBuild => k !== undefined,
      );
      const evaluations = await queueEvaluations(
        db,
        deps.queue,
        await kernelsAffected(db, kernels, {
          releases: footprint.releases,
          vermagics: footprint.vermagics,
          dependsOn: footprint.outOfTree ? existing.dependsOn : [],
        }),
      );
      return { skipped: 'already ingested', evaluations };
    }
    if (existing?.status === 'failed')
      return {
        skipped: `failed for good: ${existing.errorCode ?? 'MALFORMED'}: ${existing.errorMessage ?? ''}`,
      };
    const mirror = await getMirror(db, pkg.mirrorId);
    let file: ScratchDownload | undefined;
    try {
      const seen = { bytes: 0, modules: 0 };
      const report = () => job.updateProgress({ phase: 'download', size: pkg.size, ...seen });
      await report();
      const download = await downloadAndRead(
        deps.downloader,
        pkg.url,
        { sha256: pkg.sha256, size: pkg.size },
        deps.scratchDir,
        (body) => {
          // Every attempt reads a fresh stream from the start.
          seen.modules = 0;
          return extractPackageStream(body, pkg.format, (p) => {
            seen.modules = p.modules;
            void report();
          });
        },
        ({ bytes }) => {
          seen.bytes = bytes;
          return report();
        },
      );
      file = download.file;
      const extracted = download.value;
      await job.updateProgress({ phase: 'store', modules: extracted.modules.length });
      const stored = await storePackage(
        db,
        (release) =>
          mirror?.distro ??
          distroFromRelease(release) ??
          (mirror ? (mirror.kind === 'apt' ? 'debian' : 'fedora') : 'unknown'),
        pkg,
        extracted,
        async (tx, kernels) => {
          const deliveries = [];
          // Announced by the package that brought the kernel build's vmlinux BTF.
          for (const k of kernels) {
            if (!k.baseBtfSha256 || !extracted.kernels.get(k.release)?.vmlinuxBtf) continue;
            const imageExports = await hasVmlinuxExports(tx, k.id);
            const gaps = coverageGaps({ ...k, imageExports });
            const event = kernelIngestedEvent(k, pkg, deps.config.publicUrl, gaps);
            deliveries.push(...(await recordEvent(tx, deps.now(), 'kernel.ingested', event)));
          }
          return deliveries;
        },
      );
      await queueDeliveries(webhookDeps(deps), stored.recorded);
      const evaluations = await queueEvaluations(
        db,
        deps.queue,
        await kernelsAffected(db, stored.kernels, stored.reach),
      );
      return { modules: stored.modules, kernels: stored.kernels.map((k) => k.id), evaluations };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const reason = {
        code: typeof code === 'string' ? code : isMalformed(err) ? 'MALFORMED' : 'INGEST_FAILED',
        message: err instanceof Error ? err.message : String(err),
      };
      if (isMalformed(err)) {
        await markPackage(db, pkg.sha256, 'failed', reason);
        throw new PermanentJobError(reason.code, `${pkg.name} ${pkg.version}: ${reason.message}`, {
          cause: err,
        });
      }
      // Stays pending: the queue retries with backoff, and a later scan starts a new generation.
      await recordIngestError(db, pkg.sha256, reason).catch(() => undefined);
      throw err;
    } finally {
      await file?.remove();
    }
  };
}
