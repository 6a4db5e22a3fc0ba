import {
  isInPlaceUpload,
  isWeakUpdatesPair,
  uploadBreakAlert,
  weakUpdatesBreakAlert,
} from '@btfwatch/compat';
import {
  getKernel,
  lockAlertPair,
  markEvaluated,
  outOfTreeBreakCandidates,
  sameReleaseBuilds,
  siblingBuilds,
  uploadBreakCandidates,
  upsertAlert,
  upsertVerdicts,
} from '@btfwatch/db';
import { kernelVerdicts, type Evaluator } from '@btfwatch/evaluate';
import { queueDeliveries, recordEvent } from '@btfwatch/outbox';
import { btfBreakEvent } from '@btfwatch/webhooks';
import { PermanentJobError, type Processor } from '../queue/types.ts';
import type { ProcessorDeps } from './index.ts';
import { webhookDeps } from './index.ts';

export interface EvaluateDeps extends ProcessorDeps {
  evaluator: Evaluator;
}

/**
 * Verdicts for every module build that matters to one kernel build, then the alert rule (DESIGN §2): for each
 * in-place upload U of a running build K this kernel is one of, what hosts running K get from U's modules and
 * which out-of-tree modules built for K break on U; and, in a RHEL kABI stream, which kmods built for this kernel
 * (or an earlier one) break on a later one weak-updates links them into. One alert per pair, raised once.
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
    const { verdicts } = computed;
    // Another job computes from newer inputs: leave the verdicts and alerts to it.
    const newer = await computed.supersededBy();
    if (newer) return { skipped: 'inputs changed while evaluating', by: newer };
    // The pairs this kernel is part of: as the running build K (newer uploads of its release) and as the
    // upload U (older builds of its release that hosts run when they install it); in a RHEL kABI stream, as
    // the kernel kmods were built for and as the later kernel weak-updates links them into.
    const pairs = [
      ...pairsWith(kernel, await sameReleaseBuilds(db, kernel), (k, u) => isInPlaceUpload(u, k), false),
      ...pairsWith(kernel, await siblingBuilds(db, kernel), isWeakUpdatesPair, true),
    ];
    const { raised, deliveries } = await db.transaction(async (tx) => {
      await upsertVerdicts(
        tx,
        verdicts.map((v) => v.row),
      );
      await markEvaluated(tx, kernel.id, deps.now());
      const raised = [];
      const deliveries = [];
      for (const { running, upload, weak } of pairs) {
        // Whichever of the pair's two evaluations commits second sees the first one's verdicts.
        await lockAlertPair(tx, running.id, upload.id);
        // weak-updates links only kmods into the later kernel: its own modules never meet the running one.
        const record = weak
          ? weakUpdatesBreakAlert(running, upload, await outOfTreeBreakCandidates(tx, running, upload))
          : await uploadBreakCandidates(tx, running, upload).then((found) =>
              uploadBreakAlert(running, upload, found.inTree, found.outOfTree),
            );
        if (!record) continue;
        const { alert, created } = await upsertAlert(tx, record);
        if (!created) continue;
        raised.push(alert);
        // The outbox: deliveries commit with the alerts they announce, or not at all.
        const event = btfBreakEvent(alert, running, upload, deps.config.publicUrl);
        deliveries.push(...(await recordEvent(tx, deps.now(), 'alert.btf_break', event)));
      }
      return { raised, deliveries };
    });
    await queueDeliveries(webhookDeps(deps), deliveries);
    const summary: Record<string, number> = {};
    for (const v of verdicts) summary[v.row.btf] = (summary[v.row.btf] ?? 0) + 1;
    return { modules: verdicts.length, summary, alerts: raised.map((a) => a.id), ms: Date.now() - started };
  };
}

/** The (running, upload) pairs `kernel` makes with `builds`, on either side, where `isPair(running, upload)`. */
function pairsWith<K>(kernel: K, builds: K[], isPair: (running: K, upload: K) => boolean, weak: boolean) {
  return [
    ...builds.filter((u) => isPair(kernel, u)).map((u) => ({ running: kernel, upload: u, weak })),
    ...builds.filter((k) => isPair(k, kernel)).map((k) => ({ running: k, upload: kernel, weak })),
  ];
}
