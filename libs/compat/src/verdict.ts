import {
  Btf,
  BtfError,
  validateModuleBtf,
  type RelocationInput,
  type RelocationOutcome,
  type ValidationError,
} from '@btfwatch/btf';
import type { KernelConfigFlags } from './kconfig.ts';
import type { BtfVerdict } from './load.ts';
import { misplacedBaseReferences } from './reference-kinds.ts';

/** The booted kernel K, as far as module BTF is concerned. */
export interface KernelBtfSide {
  /** K's vmlinux BTF; null when K has none. */
  base: Btf | null;
  baseSha256: string | null;
  /**
   * Upstream version, e.g. 6.1.192. Null when unknown: then only verdicts that do not depend on K's
   * checks are given (absent, identical); the rest are `unverified` with `validation: null`.
   */
  kernelVersion: string | null;
  flags: KernelConfigFlags | null;
}

export interface BuildBase {
  btf: Btf;
  sha256: string;
  /** How btfwatch knows this is the base the module was generated against. */
  how: string;
  /** The module build seen on a mirror whose identical .BTF named this base (how: known-module-build). */
  moduleBuildId?: number;
  /**
   * Someone says so (a user's --build-base, an upload's buildBase) but nothing known shows it: assessBtf
   * confirms it against the module's BTF first, and reads the module as of unknown base when it fails.
   */
  claimed?: boolean;
}

/** The module build M. */
export interface ModuleBtfSide {
  name: string;
  /**
   * M's .BTF bytes, or null when it has none. A caller holding many modules may leave them out (null with
   * `hasBtf: true`) where assessBtfFromFacts decides without them.
   */
  btf: Uint8Array | null;
  btfBase: Uint8Array | null;
  buildBase: BuildBase | null;
  /** Whether M has a .BTF section; defaults to `btf !== null`. */
  hasBtf?: boolean;
}

/** What is known of M without reading its BTF: whether it has any, and its build base's hash. */
export interface ModuleBtfFacts {
  hasBtf: boolean;
  buildBaseSha256: string | null;
}

/** Which base type ids and string offsets M references that mean something else on K than on its build base. */
export interface ReferenceComparison {
  changedTypeIds: number[];
  changedStringOffsets: number[];
  referencedTypes: number;
  referencedStrings: number;
}

export interface BtfAssessmentDeps {
  /** Compare M's base references between its build base and K's base (same type count and string length). */
  compareReferences: (split: Uint8Array, buildBase: Btf, kernelBase: Btf) => ReferenceComparison;
  /** libbpf btf__relocate semantics, for modules carrying .BTF.base on 6.11+ kernels. */
  relocate?: (input: RelocationInput) => RelocationOutcome;
}

export interface BtfAssessment {
  btf: BtfVerdict;
  explanation: string;
  /** Lines K prints for this module (dmesg, without timestamps). */
  kernelLog: string[];
  /** Printed once per boot, for the first module affected. */
  onceLog: string[];
  /** K's checks of the module's BTF; null when they were not run (verdict decided before, or K's version unknown). */
  validation: (ValidationError & { ok: false }) | { ok: true } | null;
  references: ReferenceComparison | null;
  /** A claimed build base that the module's BTF refutes: why, and the base it named. */
  refutedBuildBase?: { sha256: string; how: string; reason: string };
}

const MAX_LISTED = 50;

function baseFacts(btf: Btf | null, sha: string | null) {
  return btf ? { sha256: sha, nrTypes: btf.nrTypes, strLen: btf.strLen } : null;
}

/** Evidence every verdict carries: both bases' identity and counts. */
export function baseEvidence(kernel: KernelBtfSide, module: Pick<ModuleBtfSide, 'buildBase'>) {
  return {
    kernelBase: baseFacts(kernel.base, kernel.baseSha256),
    buildBase: module.buildBase
      ? {
          ...baseFacts(module.buildBase.btf, module.buildBase.sha256),
          how: module.buildBase.how,
          ...(module.buildBase.moduleBuildId !== undefined
            ? { moduleBuildId: module.buildBase.moduleBuildId }
            : {}),
        }
      : null,
  };
}

/**
 * The verdicts that follow from facts alone (K without BTF or ignoring module BTF, M without BTF, K's
 * version unknown); null when deciding needs M's BTF bytes — always so when K would check them, even for a
 * module built on exactly K's base. `assessBtf` starts with this, so a caller holding many modules fetches
 * the bytes of only those it returns null for.
 */
export function assessBtfFromFacts(module: ModuleBtfFacts, kernel: KernelBtfSide): BtfAssessment | null {
  const none = { kernelLog: [], onceLog: [], validation: null, references: null };
  if (!kernel.base) return { btf: 'absent', explanation: 'the kernel has no vmlinux BTF', ...none };
  if (kernel.flags && !kernel.flags.DEBUG_INFO_BTF_MODULES) {
    return {
      btf: 'absent',
      explanation: 'the kernel is built without CONFIG_DEBUG_INFO_BTF_MODULES and ignores module BTF',
      ...none,
    };
  }
  if (!module.hasBtf) return { btf: 'absent', explanation: 'the module has no .BTF section', ...none };
  if (kernel.kernelVersion === null) {
    // Which checks K runs (and whether it loads module BTF at all, 5.11+) depend on its version:
    // guessing one could call a module K rejects fine, or the reverse. Even a module built against exactly
    // K's BTF is checked by K, and a malformed one is rejected.
    const same = module.buildBaseSha256 !== null && module.buildBaseSha256 === kernel.baseSha256;
    return {
      btf: 'unverified',
      explanation: `${same ? "the module's BTF was generated against exactly this kernel's vmlinux BTF, but " : ''}the kernel's upstream version is unknown, and the checks it runs on module BTF depend on it, so whether it accepts the module's BTF was not checked`,
      ...none,
    };
  }
  return null;
}

/**
 * Whether a claimed build base is M's: M's split BTF must pass K's checks read against it, and its references
 * into the base must land on types of the kinds their fields hold. Null when confirmed, else why not.
 */
function refuteClaim(
  module: ModuleBtfSide & { btf: Uint8Array },
  claim: BuildBase,
  kernel: KernelBtfSide & { kernelVersion: string },
): string | null {
  const verdict = validateModuleBtf(
    module.btf,
    claim.btf,
    { kernelVersion: kernel.kernelVersion, allowBtfMismatch: false },
    module.name,
  );
  if (!verdict.ok)
    return `the module's BTF does not validate against it (${verdict.error.message}${verdict.error.typeId !== undefined ? ` at type [${verdict.error.typeId}]` : ''})`;
  let split: Btf;
  try {
    split = Btf.parse(module.btf, claim.btf);
  } catch (err) {
    if (err instanceof BtfError) return `the module's BTF cannot be read over it (${err.message})`;
    throw err;
  }
  const misplaced = misplacedBaseReferences(split, 1);
  if (misplaced.count === 0) return null;
  const first = misplaced.examples[0]!;
  return `${misplaced.count} of the module's references into it land on types of the wrong kind (type [${first.typeId}] ${first.field} names [${first.target}], a ${first.targetKind})`;
}

/** What K does with M's BTF (DESIGN §2): identical, equivalent, relocated, rejected, corrupt, unverified or absent. */
export function assessBtf(
  module: ModuleBtfSide,
  kernel: KernelBtfSide,
  deps: BtfAssessmentDeps,
): BtfAssessment {
  const decided = assessBtfFromFacts(
    { hasBtf: module.hasBtf ?? module.btf !== null, buildBaseSha256: module.buildBase?.sha256 ?? null },
    kernel,
  );
  if (decided) return decided;
  if (!kernel.base || kernel.kernelVersion === null)
    throw new Error('assessBtfFromFacts decides every case without a kernel base or version');
  if (!module.btf) throw new Error(`the .BTF bytes of module ${module.name} are needed for its verdict`);
  const withBtf = { ...module, btf: module.btf };
  const versioned = { ...kernel, kernelVersion: kernel.kernelVersion };
  const claim = module.buildBase?.claimed ? module.buildBase : null;
  const refuted = claim ? refuteClaim(withBtf, claim, versioned) : null;
  const assessed = assessValidated(
    refuted ? { ...withBtf, buildBase: null } : withBtf,
    { ...versioned, base: kernel.base },
    deps,
  );
  if (!refuted || !claim) return assessed;
  return {
    ...assessed,
    explanation: `the build base given (${claim.sha256.slice(0, 12)}…) is not the module's: ${refuted}; ${assessed.explanation}`,
    refutedBuildBase: { sha256: claim.sha256, how: claim.how, reason: refuted },
  };
}

/** assessBtf once facts did not decide: K's checks of M's BTF, then what its references mean on K. */
function assessValidated(
  module: ModuleBtfSide & { btf: Uint8Array },
  kernel: KernelBtfSide & { base: Btf; kernelVersion: string },
  deps: BtfAssessmentDeps,
): BtfAssessment {
  const verdict = validateModuleBtf(
    module.btf,
    kernel.base,
    {
      kernelVersion: kernel.kernelVersion,
      allowBtfMismatch: kernel.flags?.MODULE_ALLOW_BTF_MISMATCH ?? false,
    },
    module.name,
    {
      ...(module.btfBase ? { distilledBase: module.btfBase } : {}),
      ...(deps.relocate ? { relocate: deps.relocate } : {}),
    },
  );
  if (!verdict.ok) {
    const own =
      module.buildBase?.sha256 === kernel.baseSha256
        ? ", although it was built against exactly this kernel's BTF"
        : '';
    return {
      btf: 'rejected',
      explanation: `the kernel rejects the module's BTF (${verdict.error.message}${verdict.error.typeId !== undefined ? ` at type [${verdict.error.typeId}]` : ''})${own}: ${
        verdict.log.some((l) => l.startsWith('failed to validate module'))
          ? `it logs "failed to validate module [${module.name}] BTF: ${verdict.error.errno}"`
          : 'it says so only in its once-per-boot mismatch notice (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y quiets the per-module lines)'
      }`,
      kernelLog: verdict.log,
      onceLog: verdict.onceLog,
      validation: { ...verdict.error, ok: false },
      references: null,
    };
  }
  const passed = { kernelLog: verdict.log, onceLog: [], validation: { ok: true as const } };
  if (verdict.btf === 'ignored')
    return {
      btf: 'absent',
      explanation: 'this kernel version ignores module BTF',
      ...passed,
      references: null,
    };
  if (module.buildBase && module.buildBase.sha256 === kernel.baseSha256)
    return {
      btf: 'identical',
      explanation:
        "the module's BTF was generated against exactly this kernel's vmlinux BTF, and the kernel's checks accept it",
      ...passed,
      references: null,
    };
  if (module.btfBase && verdict.btf === 'loaded') {
    return {
      btf: 'relocated',
      explanation: "the kernel relocates the module's BTF from its distilled base onto its own vmlinux BTF",
      ...passed,
      references: null,
    };
  }
  if (!module.buildBase) {
    const pending = verdict.btf === 'relocation-pending' ? ' (relocation not modelled)' : '';
    return {
      btf: 'unverified',
      explanation: `the kernel accepts the module's BTF, but its build base is unknown, so it cannot be shown to mean the same here${pending}`,
      ...passed,
      references: null,
    };
  }
  const build = module.buildBase.btf;
  if (build.nrTypes !== kernel.base.nrTypes || build.strLen !== kernel.base.strLen) {
    return {
      btf: 'corrupt',
      explanation: `the kernel accepts the module's BTF, but its base has ${kernel.base.nrTypes} types and ${kernel.base.strLen} bytes of strings where the build base had ${build.nrTypes} and ${build.strLen}: every module type id and string shifts and resolves to something else`,
      ...passed,
      references: null,
    };
  }
  const refs = deps.compareReferences(module.btf, build, kernel.base);
  const capped = {
    ...refs,
    changedTypeIds: refs.changedTypeIds.slice(0, MAX_LISTED),
    changedStringOffsets: refs.changedStringOffsets.slice(0, MAX_LISTED),
    changedTypeCount: refs.changedTypeIds.length,
    changedStringCount: refs.changedStringOffsets.length,
  };
  if (refs.changedTypeIds.length === 0 && refs.changedStringOffsets.length === 0) {
    return {
      btf: 'equivalent',
      explanation: `the bases differ, but all ${refs.referencedTypes} base types and ${refs.referencedStrings} base strings the module references mean the same on this kernel`,
      ...passed,
      references: capped,
    };
  }
  return {
    btf: 'corrupt',
    explanation: `the kernel accepts the module's BTF, but ${refs.changedTypeIds.length} referenced base types and ${refs.changedStringOffsets.length} base strings resolve differently than at build time: the kernel silently loads wrong types`,
    ...passed,
    references: capped,
  };
}
