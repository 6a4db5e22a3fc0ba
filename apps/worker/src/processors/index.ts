import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import { createDownloader, type Downloader } from '@btfwatch/mirror';
import type { Logger } from 'pino';
import { createEvaluator } from '@btfwatch/evaluate';
import type { WebhookDeps } from '@btfwatch/outbox';
import type { JobQueue, Processors } from '../queue/types.ts';
import { deliverWebhookProcessor } from '../webhooks/deliveries.ts';
import { evaluateKernelProcessor } from './evaluate-kernel.ts';
import { ingestPackageProcessor } from './ingest-package.ts';
import { scanMirrorProcessor } from './scan-mirror.ts';
import { sweepScratch } from '../ingest/scratch.ts';

/** What processors need; `now` is injectable so schedules can be tested with a controllable clock. */
export interface ProcessorDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  logger: Logger;
  now: () => Date;
}

export function webhookDeps(deps: ProcessorDeps): WebhookDeps {
  return {
    db: deps.database.db,
    queue: deps.queue,
    logger: deps.logger,
    now: deps.now,
    allow: deps.config.webhookAllowlist,
  };
}

export interface BuiltProcessors {
  processors: Processors;
  downloader: Downloader;
  close(): Promise<void>;
}

export function buildProcessors(deps: ProcessorDeps): Processors {
  return buildProcessorSet(deps).processors;
}

export function buildProcessorSet(deps: ProcessorDeps): BuiltProcessors {
  const scratchDir = join(deps.config.dataDir, 'downloads');
  mkdirSync(scratchDir, { recursive: true });
  const swept = sweepScratch(scratchDir);
  if (swept.length > 0)
    deps.logger.info({ scratchDir, removed: swept }, 'removed scratch left by killed ingests');
  const downloader = createDownloader({ perHostConcurrency: 4, dir: scratchDir });
  const io = { ...deps, downloader, scratchDir };
  return {
    downloader,
    processors: {
      'scan-mirror': scanMirrorProcessor(io),
      'ingest-package': ingestPackageProcessor(io),
      'evaluate-kernel': evaluateKernelProcessor({ ...deps, evaluator: createEvaluator(deps.database) }),
      'deliver-webhook': deliverWebhookProcessor(webhookDeps(deps)),
    },
    close: () => downloader.close(),
  };
}
