import type { Btf } from '../btf.ts';
import { magicByteOrder } from '../wire.ts';
import { MetaChecker } from './check-meta.ts';
import { kindName, type ValidationError } from './errors.ts';
import { kernelBtfFeatures, type KernelBtfFeatures, type KernelVersion } from './features.ts';
import { KernelBtf, btfSpace } from './kernel-btf.ts';
import { KernelLog } from './kernel-log.ts';
import { checkModifierChains, parseHeader, parseStrings, type StageFailure } from './parse-stages.ts';

/** The kernel the module is loaded into. */
export interface KernelTarget {
  /**
   * Upstream version of K: "6.1.192", "6.12.117-1", [7, 2, 13]. A Debian ABI name such as "6.1.0-56"
   * lacks the stable level, and some checks changed inside stable series (see features.ts).
   */
  kernelVersion: string | KernelVersion;
  /** CONFIG_MODULE_ALLOW_BTF_MISMATCH of K (read it from K's config; absent before 5.18). */
  allowBtfMismatch: boolean;
  /** Overrides for single feature edges, e.g. a distribution backport. */
  features?: Partial<KernelBtfFeatures>;
}

export interface RelocationInput {
  split: Uint8Array;
  distilledBase: Uint8Array;
  vmlinux: Btf;
}
export type RelocationOutcome = { ok: true } | { ok: false; errno: number; message: string; log?: string[] };

export interface ValidateModuleOptions {
  /** The module's .BTF.base section (distilled base), when it has one. */
  distilledBase?: Uint8Array;
  /**
   * btf_relocate(): maps split BTF from its distilled base onto vmlinux (libbpf semantics). Only 6.11+
   * kernels call it. Without a hook such modules end as `btf: 'relocation-pending'`.
   */
  relocate?: (input: RelocationInput) => RelocationOutcome;
}

/** What K does with a module's BTF: kept (loads-with-btf), or rejected with the lines K prints. */
export type ModuleBtfVerdict =
  | {
      ok: true;
      /** `ignored`: K has no module BTF, or the module has no .BTF; `relocation-pending`: checks passed, relocation not run. */
      btf: 'loaded' | 'relocation-pending' | 'ignored';
      features: KernelBtfFeatures;
      log: string[];
    }
  | {
      ok: false;
      error: ValidationError;
      /** Every dmesg line K prints for this module, in order (without the "[ time]" prefix). */
      log: string[];
      /**
       * pr_warn_once lines (6.2+ with MODULE_ALLOW_BTF_MISMATCH=y: BTF_MISMATCH_NOTICE): printed once
       * per boot, after the lines of the first module rejected since boot, and by no later one. They
       * describe the boot, not this module: keep them apart from `log`.
       */
      onceLog: string[];
      load: 'loads-without-btf' | 'fails';
      features: KernelBtfFeatures;
    };

/** The once-per-boot notice 6.2+ prints instead of per-module lines when mismatches are allowed. */
export const BTF_MISMATCH_NOTICE =
  'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules';

/**
 * Validate a module's split .BTF against `vmlinux` exactly as K's btf_parse_module does: header,
 * string section, every type's check_meta, the modifier-chain pass, and for 6.11+ modules with a
 * distilled base, the same checks on .BTF.base followed by relocation. Like the kernel, this does not
 * resolve types (btf_check_all_types runs only for BTF loaded from user space), so a module whose ids
 * merely point at the wrong base types passes: that is the `corrupt` case, for the comparison layer.
 */
export function validateModuleBtf(
  split: Uint8Array,
  vmlinux: Btf,
  target: KernelTarget,
  moduleName: string,
  options: ValidateModuleOptions = {},
): ModuleBtfVerdict {
  const features: KernelBtfFeatures = { ...kernelBtfFeatures(target.kernelVersion), ...target.features };
  if (!features.moduleBtf || split.byteLength === 0) return { ok: true, btf: 'ignored', features, log: [] };
  const allow = features.allowMismatchOption && target.allowBtfMismatch;
  const log = new KernelLog(features);

  const useDistilled = features.distilledBase && options.distilledBase !== undefined;
  // K reads every blob in its own byte order, its vmlinux's: a module written in the other order is
  // not swapped but misread (its hdr_len comes out huge: "btf_header not found").
  const native = vmlinux.header.littleEndian;
  let base = btfSpace(vmlinux);
  if (useDistilled && options.distilledBase) {
    const distilled = new KernelBtf(options.distilledBase, features, undefined, native);
    const failure = parseBlob(distilled, log, false);
    if (failure) return rejected(failure, distilled, '.BTF.base');
    base = distilled;
  }

  const btf = new KernelBtf(split, features, base, native);
  const failure = parseBlob(btf, log, features.quietMismatch && allow);
  if (failure) return rejected(failure, btf, '.BTF');

  if (useDistilled && options.distilledBase) {
    if (!options.relocate) return { ok: true, btf: 'relocation-pending', features, log: log.lines() };
    const outcome = options.relocate({ split, distilledBase: options.distilledBase, vmlinux });
    if (!outcome.ok) {
      for (const line of outcome.log ?? []) log.print(line);
      return rejected(
        { code: 'RELOCATION_FAILED', errno: outcome.errno, message: outcome.message },
        btf,
        '.BTF',
      );
    }
  }
  return { ok: true, btf: 'loaded', features, log: log.lines() };

  function rejected(failure: StageFailure, blob: KernelBtf, which: '.BTF' | '.BTF.base'): ModuleBtfVerdict {
    const onceLog: string[] = [];
    if (features.quietMismatch && allow) onceLog.push(BTF_MISMATCH_NOTICE);
    else log.print(`failed to validate module [${moduleName}] BTF: ${failure.errno}`);
    const kind = failure.typeId === undefined ? undefined : typeKind(blob, failure.typeId, failure);
    const error: ValidationError = {
      code: failure.code,
      errno: failure.errno,
      blob: which,
      message: failure.message,
      ...(failure.typeId === undefined ? {} : { typeId: failure.typeId }),
      ...(kind === undefined ? {} : { kind, kindName: kindName(kind) ?? `kind ${kind}` }),
    };
    return {
      ok: false,
      error,
      log: log.lines(),
      onceLog,
      load: allow ? 'loads-without-btf' : 'fails',
      features,
    };
  }
}

export type BaseBtfVerdict =
  | { ok: true; features: KernelBtfFeatures; log: string[] }
  | { ok: false; error: ValidationError; features: KernelBtfFeatures; log: string[] };

/**
 * The checks K runs on its own vmlinux BTF at boot (btf_parse_vmlinux; btf_parse_base since 6.11):
 * the same pipeline as for a module, over a base blob. A failure there leaves K without BTF.
 */
export function validateBaseBtf(
  bytes: Uint8Array,
  target: Pick<KernelTarget, 'kernelVersion' | 'features'>,
): BaseBtfVerdict {
  const features: KernelBtfFeatures = { ...kernelBtfFeatures(target.kernelVersion), ...target.features };
  const log = new KernelLog(features);
  // A kernel's own BTF is in its native order by construction: the magic says which that is.
  const btf = new KernelBtf(bytes, features, undefined, magicByteOrder(bytes) ?? true);
  const failure = parseBlob(btf, log, false);
  if (!failure) return { ok: true, features, log: log.lines() };
  const kind = failure.typeId === undefined ? undefined : typeKind(btf, failure.typeId, failure);
  const error: ValidationError = {
    code: failure.code,
    errno: failure.errno,
    blob: '.BTF',
    message: failure.message,
    ...(failure.typeId === undefined ? {} : { typeId: failure.typeId }),
    ...(kind === undefined ? {} : { kind, kindName: kindName(kind) ?? `kind ${kind}` }),
  };
  return { ok: false, error, features, log: log.lines() };
}

/** Header, strings, metas, modifier chains: the kernel's pipeline for one blob. */
function parseBlob(btf: KernelBtf, log: KernelLog, quiet: boolean): StageFailure | undefined {
  return (
    parseHeader(btf, log) ??
    parseStrings(btf, log) ??
    new MetaChecker(btf, log, quiet).checkAll() ??
    checkModifierChains(btf, log)
  );
}

function typeKind(btf: KernelBtf, id: number, failure: StageFailure & { kind?: number }): number | undefined {
  if (failure.kind !== undefined) return failure.kind;
  const words = btf.typeWords(id);
  return words ? btf.kindOf(words.info) : undefined;
}
