import { rm } from 'node:fs/promises';
import { CompatError } from '@btfwatch/compat';
import { BtfError } from '@btfwatch/btf';
import { ElfError } from '@btfwatch/elf';
import {
  getMirror,
  getPackage,
  kernelPackageLinks,
  markPackage,
  siblingBuilds,
  type KernelBuild,
} from '@btfwatch/db';
import { jobIds } from '@btfwatch/jobs';
import { MirrorError, type Downloader } from '@btfwatch/mirror';
import { PkgError } from '@btfwatch/pkg';
import { compareDebianVersions } from '@btfwatch/compat';
import { extractPackage } from '../ingest/extract.ts';
import { evaluationInputs, storePackage } from '../ingest/store.ts';
import { PermanentJobError, type JobQueue, type Processor } from '../queue/types.ts';
import { emitEvent } from '../webhooks/deliveries.ts';
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

/** Newer builds of the same flavour evaluate earlier builds' modules too, so they re-run when those change. */
async function kernelsToEvaluate(deps: IngestDeps, kernels: KernelBuild[]): Promise<KernelBuild[]> {
  const out = new Map(kernels.map((k) => [k.id, k]));
  for (const k of kernels) {
    for (const s of await siblingBuilds(deps.database.db, k)) {
      if (compareDebianVersions(s.version, k.version) > 0) out.set(s.id, s);
    }
  }
  return [...out.values()];
}

export async function queueEvaluations(
  queue: JobQueue,
  deps: ProcessorDeps,
  kernels: KernelBuild[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const k of kernels) {
    if (!k.baseBtfSha256) continue;
    const links = await kernelPackageLinks(deps.database.db, k.id);
    const inputs = evaluationInputs(
      k,
      links.map((l) => l.packageSha256),
    );
    ids.push(
      await queue.enqueue(
        'evaluate-kernel',
        { kernelBuildId: k.id },
        { jobId: jobIds.evaluate(k.id, inputs) },
      ),
    );
  }
  return ids;
}

/**
 * Downloads one package (verified against its index sha256), extracts kernel and module facts while
 * streaming it, stores them in one transaction, and queues the evaluations they affect.
 */
export function ingestPackageProcessor(deps: IngestDeps): Processor<'ingest-package'> {
  return async (job) => {
    const { db } = deps.database;
    const pkg = job.data;
    const existing = await getPackage(db, pkg.sha256);
    if (existing?.status === 'ingested') return { skipped: 'already ingested' };
    const mirror = await getMirror(db, pkg.mirrorId);
    let file: { path: string } | undefined;
    try {
      await job.updateProgress({ phase: 'download', bytes: 0, size: pkg.size });
      file = await deps.downloader.download(
        pkg.url,
        { sha256: pkg.sha256, size: pkg.size },
        { dir: deps.scratchDir },
      );
      await job.updateProgress({ phase: 'extract', bytes: pkg.size, size: pkg.size, modules: 0 });
      const extracted = await extractPackage(file.path, pkg.format, (p) => {
        void job.updateProgress({ phase: 'extract', bytes: pkg.size, size: pkg.size, modules: p.modules });
      });
      await job.updateProgress({ phase: 'store', modules: extracted.modules.length });
      const stored = await storePackage(db, mirror?.distro ?? 'unknown', pkg, extracted);
      const evaluations = await queueEvaluations(
        deps.queue,
        deps,
        await kernelsToEvaluate(deps, stored.kernels),
      );
      for (const k of stored.kernels.filter(
        (k) => k.baseBtfSha256 && extracted.kernels.get(k.release)?.vmlinuxBtf,
      )) {
        await emitEvent(webhookDeps(deps), 'kernel.ingested', {
          kernel: {
            id: k.id,
            distro: k.distro,
            release: k.release,
            version: k.version,
            arch: k.arch,
            baseBtfSha256: k.baseBtfSha256,
          },
          package: { name: pkg.name, version: pkg.version, sha256: pkg.sha256 },
          links: {
            kernel: `${deps.config.publicUrl}/v1/kernels/${k.id}`,
            dashboard: `${deps.config.publicUrl}/#/kernels/${k.id}`,
          },
        });
      }
      return { modules: stored.modules, kernels: stored.kernels.map((k) => k.id), evaluations };
    } catch (err) {
      if (isMalformed(err)) {
        const code = (err as { code?: string }).code ?? 'MALFORMED';
        const message = err instanceof Error ? err.message : String(err);
        await markPackage(db, pkg.sha256, 'failed', { code, message });
        throw new PermanentJobError(code, `${pkg.name} ${pkg.version}: ${message}`, { cause: err });
      }
      throw err;
    } finally {
      if (file) await rm(file.path, { force: true });
    }
  };
}
