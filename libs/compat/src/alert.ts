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
