import { Btf } from '../btf.ts';
import { BtfError, BtfRelocationError } from '../errors.ts';
import { relocateSplit } from '../relocate.ts';
import { EINVAL } from './errors.ts';
import type { RelocationInput, RelocationOutcome } from './validate-module.ts';

/**
 * The relocation step of btf_parse_module (6.11+), for `validateModuleBtf`'s `relocate` hook: after
 * the checks passed, btf_relocate() maps the module's split BTF from its .BTF.base onto vmlinux.
 * The kernel compiles libbpf's btf_relocate.c (under __KERNEL__, pr_warn is printk without a
 * "libbpf: " prefix), so a failure prints libbpf's line as is and its errno (-EINVAL for an
 * unmatched, ambiguous or invalid distilled type, -ENOENT for an unmapped name) becomes the
 * "failed to validate module [m] BTF: <errno>" the caller prints.
 */
export function relocateModuleBtf(input: RelocationInput): RelocationOutcome {
  try {
    relocateSplit(Btf.parse(input.split, Btf.parse(input.distilledBase)), input.vmlinux);
    return { ok: true };
  } catch (err) {
    if (err instanceof BtfRelocationError) {
      return { ok: false, errno: -err.errno, message: err.message, log: err.printed ? [err.message] : [] };
    }
    if (err instanceof BtfError) {
      // Blobs that passed the kernel's checks but that btf_relocate() walks without bounds checks
      // (a member id past the last type, a cycle through arrays): the kernel reads outside its id map
      // or loops. No faithful prediction exists; call it a rejection rather than a success.
      return {
        ok: false,
        errno: EINVAL,
        message: `${err.message}: btf_relocate does not check this, so what the kernel does is undefined`,
        log: [],
      };
    }
    throw err;
  }
}
