/** An input the verdicts and the alert rule need that a kernel build lacks. */
export type CoverageInput = 'btf' | 'kernel-version' | 'config' | 'crcs';

export interface CoverageGap {
  input: CoverageInput;
  /** What cannot be told without it. */
  effect: string;
  /** Why it is missing, and what would bring it. */
  why: string;
}

/** What the coverage rules read of a kernel build. */
export interface CoverageFacts {
  baseBtfSha256: string | null;
  kernelVersion: string | null;
  config: unknown | null;
  symversSha256: string | null;
  /** Whether one of its packages carried the vmlinux's own exported CRCs (its image is an ELF with them). */
  imageExports: boolean;
}

/**
 * What a kernel build lacks for its verdicts and alerts to be known rather than unknown. Empty when nothing:
 * only then may an absence of alerts about it be read as an all-clear.
 */
export function coverageGaps(k: CoverageFacts): CoverageGap[] {
  const gaps: CoverageGap[] = [];
  if (!k.baseBtfSha256)
    gaps.push({
      input: 'btf',
      effect: 'no verdicts at all',
      why: 'no vmlinux BTF: its image package was not scanned, or its image has no BTF',
    });
  if (!k.kernelVersion)
    gaps.push({
      input: 'kernel-version',
      effect: "the kernel's checks of module BTF are not run (verdicts unverified)",
      why: 'its upstream version could not be told from its config or package version',
    });
  if (!k.config)
    gaps.push({
      input: 'config',
      effect:
        'whether a module whose BTF is rejected still loads (CONFIG_MODULE_ALLOW_BTF_MISMATCH) is unknown',
      why: 'no kernel config: the package carrying it (/boot/config-*, linux-base-*, kernel-core) was not scanned',
    });
  if (!k.symversSha256 && !k.imageExports)
    gaps.push({
      input: 'crcs',
      effect:
        'the ABI (modversions) is unknown, so ABI-compatible uploads cannot be told apart and no alert is raised',
      why: 'no CRCs in its image (a raw image, or built without MODVERSIONS) and no headers scanned (Module.symvers)',
    });
  return gaps;
}

const INPUT_ORDER: CoverageInput[] = ['btf', 'crcs', 'config', 'kernel-version'];

/**
 * One sentence per missing input over many kernel builds, e.g. "ABI unknown for 2 kernel builds: no CRCs in
 * their image …". Empty when every build has everything.
 */
export function coverageSummary(gaps: ReadonlyArray<{ gaps: CoverageGap[] }>): string[] {
  const out: string[] = [];
  for (const input of INPUT_ORDER) {
    const hit = gaps.flatMap((k) => k.gaps.filter((g) => g.input === input));
    if (hit.length === 0) continue;
    const builds = `${hit.length} kernel build${hit.length === 1 ? '' : 's'}`;
    const what: Record<CoverageInput, string> = {
      btf: `No verdicts for ${builds}`,
      crcs: `ABI unknown for ${builds}`,
      config: `Load outcome of rejected BTF unknown for ${builds}`,
      'kernel-version': `Kernel checks not run for ${builds}`,
    };
    out.push(`${what[input]}: ${hit[0]!.why}.`);
  }
  return out;
}
