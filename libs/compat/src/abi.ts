import type { ExportedSymbol } from './symvers.ts';

export type AbiVerdict = 'compatible' | 'incompatible' | 'unknown';

export interface SymbolMismatch {
  symbol: string;
  moduleCrc: number;
  /** null: the kernel does not export it. */
  kernelCrc: number | null;
}

export interface AbiCheck {
  abi: AbiVerdict;
  vermagicMatch: boolean;
  /** Imports whose CRC differs or that the kernel lacks (capped list; `mismatchCount` is the total). */
  mismatches: SymbolMismatch[];
  mismatchCount: number;
  reason: string;
}

export interface AbiKernel {
  vermagic: string | null;
  modversions: boolean;
  /** Exported symbols with CRCs; null when unknown (no Module.symvers ingested). */
  exports: Map<string, ExportedSymbol> | null;
}

export interface AbiModule {
  vermagic: string | null;
  importedCrcs: ReadonlyArray<readonly [string, number]>;
}

const MAX_LISTED = 50;

/**
 * The kernel's vermagic comparison (kernel/module/version.c same_magic): with modversions CRCs on both
 * sides the first word — the release string — is skipped, so a module built for 6.1.0-55-amd64 passes on
 * 6.1.0-56-amd64 when the rest ("SMP preempt mod_unload modversions") matches.
 */
export function sameVermagic(moduleMagic: string, kernelMagic: string, hasCrcs: boolean): boolean {
  if (!hasCrcs) return moduleMagic === kernelMagic;
  const tail = (s: string) => s.slice(s.indexOf(' ') < 0 ? s.length : s.indexOf(' '));
  return tail(moduleMagic) === tail(kernelMagic);
}

/** modversions: every imported symbol must exist on the kernel with the same CRC, and vermagic must match. */
export function checkAbi(module: AbiModule, kernel: AbiKernel): AbiCheck {
  // The kernel skips the release word when the module carries __versions (info->index.vers).
  const hasCrcs = module.importedCrcs.length > 0;
  const vermagicMatch =
    module.vermagic !== null &&
    kernel.vermagic !== null &&
    sameVermagic(module.vermagic, kernel.vermagic, hasCrcs);
  if (kernel.vermagic === null || module.vermagic === null) {
    return { abi: 'unknown', vermagicMatch, mismatches: [], mismatchCount: 0, reason: 'vermagic unknown' };
  }
  if (!vermagicMatch) {
    return {
      abi: 'incompatible',
      vermagicMatch,
      mismatches: [],
      mismatchCount: 0,
      reason: `vermagic mismatch: module "${module.vermagic.trim()}", kernel "${kernel.vermagic.trim()}"`,
    };
  }
  if (!kernel.exports) {
    return {
      abi: 'unknown',
      vermagicMatch,
      mismatches: [],
      mismatchCount: 0,
      reason: "the kernel's symbol CRCs are not known",
    };
  }
  if (!kernel.modversions || !hasCrcs) {
    // Without modversions the kernel only resolves names; a missing export still fails the load.
    const missing = module.importedCrcs.filter(([s]) => !kernel.exports!.has(s));
    return {
      abi: missing.length ? 'incompatible' : 'unknown',
      vermagicMatch,
      mismatches: missing
        .slice(0, MAX_LISTED)
        .map(([symbol, crc]) => ({ symbol, moduleCrc: crc, kernelCrc: null })),
      mismatchCount: missing.length,
      reason: missing.length
        ? `${missing.length} imported symbols missing`
        : 'kernel built without MODVERSIONS: no CRCs to compare',
    };
  }
  const mismatches: SymbolMismatch[] = [];
  let mismatchCount = 0;
  for (const [symbol, crc] of module.importedCrcs) {
    // module_layout is a pseudo-symbol some kernels check separately; it is absent from Module.symvers.
    if (symbol === 'module_layout') continue;
    const exported = kernel.exports.get(symbol);
    if (!exported || exported.crc !== crc) {
      mismatchCount++;
      if (mismatches.length < MAX_LISTED)
        mismatches.push({ symbol, moduleCrc: crc, kernelCrc: exported?.crc ?? null });
    }
  }
  return {
    abi: mismatchCount ? 'incompatible' : 'compatible',
    vermagicMatch,
    mismatches,
    mismatchCount,
    reason: mismatchCount
      ? `${mismatchCount} imported symbols differ (first: ${mismatches[0]!.symbol})`
      : `all ${module.importedCrcs.length} imported symbol CRCs match`,
  };
}
