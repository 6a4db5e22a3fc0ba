import type { AbiCheck } from './abi.ts';
import type { KernelConfigFlags } from './kconfig.ts';

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
 * the load (kernel/bpf/btf.c btf_module_notify).
 */
export function predictLoad(btf: BtfVerdict, abi: AbiCheck, flags: KernelConfigFlags | null): LoadPrediction {
  if (abi.abi === 'incompatible') {
    const why = abi.vermagicMatch ? `modversions CRC mismatch: ${abi.reason}` : abi.reason;
    return { load: 'fails', reason: why };
  }
  const abiNote = abi.abi === 'unknown' ? ` (ABI not verified: ${abi.reason})` : '';
  switch (btf) {
    case 'identical':
    case 'equivalent':
    case 'relocated':
    case 'unverified':
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
