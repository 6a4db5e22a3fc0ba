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
  /** CONFIG_MODVERSIONS; null when the kernel's config is not known. */
  modversions: boolean | null;
  /** Exported symbols with CRCs; null when unknown. */
  exports: Map<string, ExportedSymbol> | null;
  /**
   * Whether `exports` is every symbol the kernel exports (Module.symvers), so a symbol missing from it is
   * missing from the kernel. Exports read from the image and the modules scanned may lack those of modules
   * in packages not seen: a symbol missing there is not known to be missing.
   */
  exportsComplete?: boolean;
  /** Why exports (or vermagic) are unknown, for the reason an `unknown` verdict gives. */
  unknownWhy?: string;
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

function unknown(vermagicMatch: boolean, reason: string, kernel: AbiKernel): AbiCheck {
  const why = kernel.unknownWhy ? ` (${kernel.unknownWhy})` : '';
  return { abi: 'unknown', vermagicMatch, mismatches: [], mismatchCount: 0, reason: `${reason}${why}` };
}

/**
 * modversions (kernel/module/version.c check_version): every imported symbol must exist on the kernel with the
 * same CRC, and vermagic must match. Unknown, with the input that is missing, wherever that cannot be told.
 */
export function checkAbi(module: AbiModule, kernel: AbiKernel): AbiCheck {
  // The kernel skips the release word when the module carries __versions (info->index.vers).
  const hasCrcs = module.importedCrcs.length > 0;
  if (module.vermagic === null)
    return {
      abi: 'unknown',
      vermagicMatch: false,
      mismatches: [],
      mismatchCount: 0,
      reason: 'the module has no vermagic',
    };
  const vermagicMatch = kernel.vermagic !== null && sameVermagic(module.vermagic, kernel.vermagic, hasCrcs);
  if (kernel.vermagic !== null && !vermagicMatch) {
    return {
      abi: 'incompatible',
      vermagicMatch,
      mismatches: [],
      mismatchCount: 0,
      reason: `vermagic mismatch: module "${module.vermagic.trim()}", kernel "${kernel.vermagic.trim()}"`,
    };
  }
  if (!kernel.exports)
    return unknown(vermagicMatch, "the kernel's exported symbols and their CRCs are not known", kernel);
  if (kernel.vermagic === null) return unknown(false, "the kernel's vermagic is not known", kernel);
  if (!hasCrcs)
    return unknown(
      vermagicMatch,
      'the module records no symbol versions (__versions): its imports are not known',
      kernel,
    );
  const mismatches: SymbolMismatch[] = [];
  let differ = 0;
  let notFound = 0;
  for (const [symbol, crc] of module.importedCrcs) {
    // module_layout is a pseudo-symbol some kernels check separately; it is absent from Module.symvers.
    if (symbol === 'module_layout') continue;
    const exported = kernel.exports.get(symbol);
    // Without MODVERSIONS the kernel only resolves names: a CRC that differs does not matter.
    if (exported && (exported.crc === crc || kernel.modversions === false)) continue;
    if (exported) differ++;
    else notFound++;
    if (mismatches.length < MAX_LISTED)
      mismatches.push({ symbol, moduleCrc: crc, kernelCrc: exported?.crc ?? null });
  }
  const mismatchCount = differ + notFound;
  const first = mismatches[0]?.symbol;
  if (differ > 0 && kernel.modversions === null)
    return {
      ...unknown(
        vermagicMatch,
        `${differ} imported symbol CRCs differ (first: ${first}), which fails the load if the kernel has CONFIG_MODVERSIONS; its config is not known`,
        kernel,
      ),
      mismatches,
      mismatchCount,
    };
  if (differ > 0 || (notFound > 0 && kernel.exportsComplete))
    return {
      abi: 'incompatible',
      vermagicMatch,
      mismatches,
      mismatchCount,
      reason:
        differ > 0
          ? `${differ} imported symbol CRCs differ${notFound ? ` and ${notFound} imported symbols are not exported` : ''} (first: ${first})`
          : `${notFound} imported symbols are not exported by the kernel (first: ${first})`,
    };
  if (notFound > 0)
    return {
      ...unknown(
        vermagicMatch,
        `${notFound} imported symbols are not among the kernel's exports known (first: ${first}); the other ${module.importedCrcs.length - notFound} match`,
        kernel,
      ),
      mismatches,
      mismatchCount,
    };
  return {
    abi: 'compatible',
    vermagicMatch,
    mismatches,
    mismatchCount,
    reason:
      kernel.modversions !== false
        ? `all ${module.importedCrcs.length} imported symbol CRCs match`
        : `the kernel is built without MODVERSIONS and exports all ${module.importedCrcs.length} imported symbols`,
  };
}
