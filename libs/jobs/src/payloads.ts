import type { JobName } from './names.ts';

export interface ScanMirrorPayload {
  mirrorId: number;
  /** Why the scan runs: an API request, the schedule, or the CLI. */
  trigger: 'api' | 'schedule' | 'cli';
}

export interface IngestPackagePayload {
  mirrorId: number;
  suite: string;
  url: string;
  sha256: string;
  size: number;
  name: string;
  version: string;
  arch: string;
  format: 'deb' | 'rpm';
  role: string;
  source?: string | undefined;
  sourceVersion?: string | undefined;
  depends: string[];
  provides: string[];
}

export interface EvaluateKernelPayload {
  kernelBuildId: number;
  /**
   * Summary of what the evaluation depends on when it was queued (the job id carries it too); a job that
   * finds its inputs changed hands over to the job for the current ones.
   */
  inputs?: string;
}

export interface DeliverWebhookPayload {
  deliveryId: string;
  /** The attempt this job makes (1-based); a job for an attempt already made is stale and does nothing. */
  attempt: number;
}

export interface PayloadOf {
  'scan-mirror': ScanMirrorPayload;
  'ingest-package': IngestPackagePayload;
  'evaluate-kernel': EvaluateKernelPayload;
  'deliver-webhook': DeliverWebhookPayload;
}
export type Payload<N extends JobName> = PayloadOf[N];

/** Job ids may not contain ':' (BullMQ uses it as a key separator). */
export const jobIds = {
  /** One scan per mirror per schedule slot: several schedulers racing add the same id once. */
  scheduledScan: (mirrorId: number, intervalSeconds: number, nowMs: number) =>
    `scan-mirror.${mirrorId}.slot-${Math.floor(nowMs / 1000 / intervalSeconds)}`,
  requestedScan: (mirrorId: number, nowMs: number) => `scan-mirror.${mirrorId}.req-${nowMs}`,
  /** Generation 0 is the package's first ingest; a later scan retries a failed job under the next one. */
  ingest: (sha256: string, generation = 0) =>
    generation === 0 ? `ingest-package.${sha256}` : `ingest-package.${sha256}.g${generation}`,
  /** `inputs` summarises what the evaluation depends on, so new inputs re-run it and same inputs don't. */
  evaluate: (kernelBuildId: number, inputs: string) => `evaluate-kernel.${kernelBuildId}.${inputs}`,
  deliver: (deliveryId: string, attempt: number) => `deliver-webhook.${deliveryId}.${attempt}`,
};
