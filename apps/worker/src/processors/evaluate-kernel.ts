import { btfBreakAlerts } from '@btfwatch/compat';
import { getKernel, kernelBuilds, raiseAlerts, upsertVerdicts } from '@btfwatch/db';
import { eq } from 'drizzle-orm';
import type { Evaluator } from '../evaluate/engine.ts';
import { relevantModules } from '../evaluate/relevant.ts';
import { PermanentJobError, type Processor } from '../queue/types.ts';
import { emitEvent } from '../webhooks/deliveries.ts';
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
    const ctx = await deps.evaluator.kernelContext(kernel);
    const relevant = await relevantModules(db, kernel);
    const started = Date.now();
    const verdicts = await deps.evaluator.evaluate(ctx, relevant.modules, {
      buildBaseOf: (m) => relevant.declaredBase.get(m.packageSha256) ?? null,
      onProgress: (done) => job.updateProgress({ modules: done, of: relevant.modules.length }),
    });
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
    const raised = await db.transaction(async (tx) => {
      await upsertVerdicts(
        tx,
        verdicts.map((v) => v.row),
      );
      await tx.update(kernelBuilds).set({ evaluatedAt: deps.now() }).where(eq(kernelBuilds.id, kernel.id));
      return raiseAlerts(
        tx,
        drafts.map((d) => {
          const source = d.affected[0]?.sourceKernelBuildId;
          const from = source ? previousById.get(source) : undefined;
          const origin = from
            ? `modules of ${from.release} (${from.version})`
            : `package ${d.affected[0]?.packageName}`;
          const counts: Record<string, number> = {};
          for (const a of d.affected) counts[a.btf] = (counts[a.btf] ?? 0) + 1;
          return {
            kernelBuildId: kernel.id,
            cause: d.cause,
            severity: d.severity,
            summary: `${kernel.release} (${kernel.version}) keeps ${d.affected.length} ${origin} loadable (modversions match) but breaks their BTF: ${Object.entries(
              counts,
            )
              .map(([k, n]) => `${n} ${k}`)
              .join(', ')}`,
            affectedModules: d.affected.length,
            details: {
              sourceKernelBuildId: source ?? null,
              counts,
              modules: d.affected.slice(0, 200).map((a) => ({
                id: a.moduleBuildId,
                name: a.moduleName,
                package: a.packageName,
                btf: a.btf,
                load: a.load,
              })),
            },
          };
        }),
      );
    });
    for (const alert of raised) {
      await emitEvent(webhookDeps(deps), 'alert.btf_break', {
        alert: {
          id: alert.id,
          severity: alert.severity,
          summary: alert.summary,
          cause: alert.cause,
          affectedModules: alert.affectedModules,
        },
        kernel: {
          id: kernel.id,
          distro: kernel.distro,
          release: kernel.release,
          version: kernel.version,
          arch: kernel.arch,
          baseBtfSha256: kernel.baseBtfSha256,
        },
        modules: alert.details.modules,
        links: {
          alert: `${deps.config.publicUrl}/v1/alerts/${alert.id}`,
          kernel: `${deps.config.publicUrl}/v1/kernels/${kernel.id}`,
          dashboard: `${deps.config.publicUrl}/#/alerts/${alert.id}`,
        },
      });
    }
    const summary: Record<string, number> = {};
    for (const v of verdicts) summary[v.row.btf] = (summary[v.row.btf] ?? 0) + 1;
    return { modules: verdicts.length, summary, alerts: raised.map((a) => a.id), ms: Date.now() - started };
  };
}
