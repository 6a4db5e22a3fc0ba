import type { AbiVerdict } from './abi.ts';
import type { BtfVerdict } from './load.ts';

export interface AlertCandidate {
  moduleBuildId: number;
  moduleName: string;
  packageName: string;
  /** The kernel build the module ships with (in-tree), or null for a separate module package. */
  sourceKernelBuildId: number | null;
  btf: BtfVerdict;
  abi: AbiVerdict;
  load: string;
}

export interface AlertDraft {
  /** Stable per (new kernel, cause): re-evaluating the same kernel never raises it twice. */
  cause: string;
  severity: 'warning' | 'critical';
  affected: AlertCandidate[];
}

/**
 * ABI-compatible upload breaks BTF: modules distros would keep loading on the new kernel build K'
 * (abi compatible) whose BTF K' rejects or silently misreads. One alert per origin of the modules.
 */
export function btfBreakAlerts(kernelBuildId: number, candidates: AlertCandidate[]): AlertDraft[] {
  const groups = new Map<string, AlertCandidate[]>();
  for (const c of candidates) {
    if (c.sourceKernelBuildId === kernelBuildId) continue;
    if (c.abi !== 'compatible' || (c.btf !== 'rejected' && c.btf !== 'corrupt')) continue;
    const cause =
      c.sourceKernelBuildId !== null
        ? `btf_break:kernel-${c.sourceKernelBuildId}`
        : `btf_break:package-${c.packageName}`;
    const list = groups.get(cause) ?? [];
    list.push(c);
    groups.set(cause, list);
  }
  return [...groups].map(([cause, affected]) => ({
    cause,
    severity: affected.some((c) => c.btf === 'corrupt' || c.load === 'fails') ? 'critical' : 'warning',
    affected,
  }));
}

/** Affected modules an alert (and its alert.btf_break payload) lists one by one; the rest are counted. */
export const ALERT_MODULES_SHOWN = 200;

export interface AffectedPackage {
  name: string;
  version: string | null;
  affectedModules: number;
}

/** The packages the affected modules come from, with how many of each: always complete, however many modules. */
export function affectedPackages(
  affected: AlertCandidate[],
  versionOf: ReadonlyMap<number, string>,
): AffectedPackage[] {
  const byKey = new Map<string, AffectedPackage>();
  for (const a of affected) {
    const version = versionOf.get(a.moduleBuildId) ?? null;
    const key = `${a.packageName}@${version ?? ''}`;
    const p = byKey.get(key) ?? { name: a.packageName, version, affectedModules: 0 };
    p.affectedModules += 1;
    byKey.set(key, p);
  }
  return [...byKey.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** What an alert says of the kernel builds it names. */
export interface AlertKernel {
  id: number;
  release: string;
  version: string;
}

/** An alert as stored: its wording and details drafted from the rule's verdicts. */
export interface AlertRecord {
  kernelBuildId: number;
  cause: string;
  severity: AlertDraft['severity'];
  summary: string;
  affectedModules: number;
  details: Record<string, unknown>;
}

/**
 * The stored form of each draft on `kernel`: a one-sentence summary, per-verdict counts, the affected
 * packages (complete) and modules (the first ALERT_MODULES_SHOWN). `sources` are the kernel builds the
 * in-tree modules come from; `versionOf` the package version of each affected module build.
 */
export function alertRecords(
  kernel: AlertKernel,
  drafts: AlertDraft[],
  sources: ReadonlyMap<number, AlertKernel>,
  versionOf: ReadonlyMap<number, string>,
): AlertRecord[] {
  return drafts.map((d) => {
    const source = d.affected[0]?.sourceKernelBuildId;
    const from = source ? sources.get(source) : undefined;
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
        packages: affectedPackages(d.affected, versionOf),
        modules: d.affected.slice(0, ALERT_MODULES_SHOWN).map((a) => ({
          id: a.moduleBuildId,
          name: a.moduleName,
          package: a.packageName,
          version: versionOf.get(a.moduleBuildId) ?? null,
          btf: a.btf,
          load: a.load,
          abi: a.abi,
        })),
      },
    };
  });
}
