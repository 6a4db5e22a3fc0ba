import type { AbiCheck } from './abi.ts';
import type { KernelConfigFlags } from './kconfig.ts';
import type { BtfAssessment } from './verdict.ts';

export type BtfVerdict =
  'identical' | 'equivalent' | 'relocated' | 'rejected' | 'corrupt' | 'unverified' | 'absent';
export type LoadVerdict = 'loads-with-btf' | 'loads-without-btf' | 'fails';

export interface LoadPrediction {
  load: LoadVerdict;
  reason: string;
}

/**
 * What the kernel does with the module as a whole: modversions/vermagic decide whether it loads at all;
 * then a BTF the kernel rejects either just drops the BTF (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y) or fails
 * the load (kernel/bpf/btf.c btf_module_notify). Pass the whole assessment where there is one: an
 * `unverified` verdict whose BTF was not validated (K's version unknown) then says so.
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
  const abiNote = abi.abi === 'unknown' ? ` (ABI not verified: ${abi.reason})` : '';
  switch (btf) {
    case 'unverified':
      if (notValidated) {
        const otherwise = flags?.MODULE_ALLOW_BTF_MISMATCH
          ? 'loads without it (CONFIG_MODULE_ALLOW_BTF_MISMATCH=y)'
          : flags
            ? 'fails to load (CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set)'
            : 'fails to load unless CONFIG_MODULE_ALLOW_BTF_MISMATCH=y';
        return {
          load: 'loads-with-btf',
          reason: `BTF not validated: kept if the kernel accepts it, otherwise the module ${otherwise}${abiNote}`,
        };
      }
      return { load: 'loads-with-btf', reason: `BTF accepted${abiNote}` };
    case 'identical':
    case 'equivalent':
    case 'relocated':
      return { load: 'loads-with-btf', reason: `BTF accepted${abiNote}` };
    case 'corrupt':
      return {
        load: 'loads-with-btf',
        reason: `BTF accepted but its types resolve wrongly on this kernel${abiNote}`,
      };
    case 'absent':
      return { load: 'loads-without-btf', reason: `no module BTF to load${abiNote}` };
    case 'rejected':
      if (flags?.MODULE_ALLOW_BTF_MISMATCH) {
        return {
          load: 'loads-without-btf',
          reason: `BTF rejected; CONFIG_MODULE_ALLOW_BTF_MISMATCH=y keeps the module${abiNote}`,
        };
      }
      return {
        load: 'fails',
        reason: flags
          ? 'BTF rejected and CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set: the kernel refuses the module'
          : 'BTF rejected; kernel config unknown, so the module fails to load unless CONFIG_MODULE_ALLOW_BTF_MISMATCH=y',
      };
  }
}
