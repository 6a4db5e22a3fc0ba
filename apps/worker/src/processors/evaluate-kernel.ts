import { alertRecords, btfBreakAlerts } from '@btfwatch/compat';
import { getKernel, markEvaluated, raiseAlerts, upsertVerdicts } from '@btfwatch/db';
import { kernelVerdicts, type Evaluator } from '@btfwatch/evaluate';
import { queueDeliveries, recordEvent } from '@btfwatch/outbox';
import { btfBreakEvent, eventLinks } from '@btfwatch/webhooks';
import { PermanentJobError, type Processor } from '../queue/types.ts';
import type { ProcessorDeps } from './index.ts';
import { webhookDeps } from './index.ts';

export interface EvaluateDeps extends ProcessorDeps {
  evaluator: Evaluator;
}

/**
 * Verdicts for every module build that matters to one kernel build, then the alert rule: modules an
 * ABI-compatible upload keeps loading whose BTF it breaks. Alerts are raised once per (kernel, cause).
 */
export function evaluateKernelProcessor(deps: EvaluateDeps): Processor<'evaluate-kernel'> {
  return async (job) => {
    const { db } = deps.database;
    const kernel = await getKernel(db, job.data.kernelBuildId);
    if (!kernel)
      throw new PermanentJobError(
        'KERNEL_NOT_FOUND',
        `kernel build ${job.data.kernelBuildId} does not exist`,
      );
    if (!kernel.baseBtfSha256) return { skipped: 'no vmlinux BTF known yet' };
    const started = Date.now();
    const computed = await kernelVerdicts(
      { db, queue: deps.queue, evaluator: deps.evaluator },
      kernel,
      job.data.inputs,
      (done, of) => job.updateProgress({ modules: done, of }),
    );
    if ('handedOverTo' in computed)
      return { skipped: 'inputs changed since queued', by: computed.handedOverTo };
    const { relevant, verdicts } = computed;
    // Another job computes from newer inputs: leave the verdicts and alerts to it.
    const newer = await computed.supersededBy();
    if (newer) return { skipped: 'inputs changed while evaluating', by: newer };
    const drafts = btfBreakAlerts(
      kernel.id,
      verdicts.map((v) => ({
        moduleBuildId: v.module.id,
        moduleName: v.module.name,
        packageName: v.module.packageName,
        sourceKernelBuildId: v.module.kernelBuildId,
        btf: v.row.btf,
        abi: v.row.abi,
        load: v.row.load,
      })),
    );
    const previousById = new Map(relevant.previous.map((k) => [k.id, k]));
    const versionOf = new Map(verdicts.map((v) => [v.module.id, v.module.packageVersion]));
    const links = eventLinks(deps.config.publicUrl, kernel.id);
    const { raised, deliveries } = await db.transaction(async (tx) => {
      await upsertVerdicts(
        tx,
        verdicts.map((v) => v.row),
      );
      await markEvaluated(tx, kernel.id, deps.now());
      const raised = await raiseAlerts(tx, alertRecords(kernel, drafts, previousById, versionOf));
      // The outbox: deliveries commit with the alerts they announce, or not at all.
      const deliveries = [];
      for (const alert of raised)
        deliveries.push(
          ...(await recordEvent(tx, deps.now(), 'alert.btf_break', btfBreakEvent(alert, kernel, links))),
        );
      return { raised, deliveries };
    });
    await queueDeliveries(webhookDeps(deps), deliveries);
    const summary: Record<string, number> = {};
    for (const v of verdicts) summary[v.row.btf] = (summary[v.row.btf] ?? 0) + 1;
    return { modules: verdicts.length, summary, alerts: raised.map((a) => a.id), ms: Date.now() - started };
  };
}
