import type { AbiCheck } from './abi.ts';
import type { KernelConfigFlags } from './kconfig.ts';
import type { BtfAssessment } from './verdict.ts';

export type BtfVerdict =
  'identical' | 'equivalent' | 'relocated' | 'rejected' | 'corrupt' | 'unverified' | 'absent';
/** `unknown`: the outcome depends on an input that is missing (the kernel's config or CRCs); the reason names it. */
export type LoadVerdict = 'loads-with-btf' | 'loads-without-btf' | 'fails' | 'unknown';

export interface LoadPrediction {
  load: LoadVerdict;
  reason: string;
}

const MISMATCH = 'CONFIG_MODULE_ALLOW_BTF_MISMATCH';

/**
 * What the kernel does with the module as a whole: modversions/vermagic decide whether it loads at all;
 * then a BTF the kernel rejects either just drops the BTF (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y) or fails
 * the load (kernel/bpf/btf.c btf_module_notify). Where the outcome turns on an input that is missing —
 * the config for a rejected BTF, the CRCs for an unknown ABI — it is `unknown` and the reason says which.
 * Pass the whole assessment where there is one: an `unverified` verdict whose BTF was not validated (K's
 * version unknown) then says so.
 */
export function predictLoad(
  assessment: BtfVerdict | Pick<BtfAssessment, 'btf' | 'validation'>,
  abi: AbiCheck,
  flags: KernelConfigFlags | null,
): LoadPrediction {
  const btf = typeof assessment === 'string' ? assessment : assessment.btf;
  const notValidated =
    typeof assessment !== 'string' && assessment.btf === 'unverified' && !assessment.validation;
  if (abi.abi === 'incompatible') {
    const why = abi.vermagicMatch ? `modversions CRC mismatch: ${abi.reason}` : abi.reason;
    return { load: 'fails', reason: why };
  }
  const abiUnknown = abi.abi === 'unknown';
  // The load the BTF leads to, when the ABI lets the module load at all.
  const ifAbi = (load: 'loads-with-btf' | 'loads-without-btf', outcome: string): LoadPrediction =>
    abiUnknown
      ? {
          load: 'unknown',
          reason: `${outcome}, if its symbol versions match, which is not known: ${abi.reason}`,
        }
      : { load, reason: outcome };
  switch (btf) {
    case 'unverified':
      if (notValidated) {
        const otherwise = flags?.MODULE_ALLOW_BTF_MISMATCH
          ? `loads without it (${MISMATCH}=y)`
          : flags
            ? `fails to load (${MISMATCH} is not set)`
            : `fails to load unless ${MISMATCH}=y (the kernel's config is not known)`;
        return {
          load: 'unknown',
          reason: `the BTF was not validated: the module loads with it if the kernel accepts it, otherwise it ${otherwise}${abiUnknown ? `; and whether it loads at all is not known: ${abi.reason}` : ''}`,
        };
      }
      return ifAbi('loads-with-btf', 'loads with BTF: the kernel accepts it');
    case 'identical':
    case 'equivalent':
    case 'relocated':
      return ifAbi('loads-with-btf', 'loads with BTF: the kernel accepts it');
    case 'corrupt':
      return ifAbi(
        'loads-with-btf',
        'loads with BTF, which the kernel accepts but whose types resolve wrongly on it',
      );
    case 'absent':
      return ifAbi('loads-without-btf', 'loads without BTF: there is no module BTF to load');
    case 'rejected':
      if (!flags)
        return {
          load: 'unknown',
          reason: `BTF rejected: the module fails to load unless ${MISMATCH}=y, and the kernel's config is not known`,
        };
      if (!flags.MODULE_ALLOW_BTF_MISMATCH)
        return {
          load: 'fails',
          reason: `BTF rejected and ${MISMATCH} is not set: the kernel refuses the module`,
        };
      return ifAbi(
        'loads-without-btf',
        `loads without BTF: the kernel rejects the BTF and ${MISMATCH}=y keeps the module`,
      );
  }
}
