export type BtfErrorCode =
  | 'BTF_BAD_MAGIC'
  | 'BTF_TRUNCATED'
  | 'BTF_BAD_HEADER'
  | 'BTF_BAD_STRINGS'
  | 'BTF_BAD_TYPE'
  | 'BTF_BAD_REFERENCE'
  | 'BTF_UNSUPPORTED'
  | 'BTF_NOT_FOUND'
  | 'BTF_RELOCATION'
  /** Input is not BTF, nor an ELF file we can take a .BTF section from. */
  | 'BTF_BAD_CONTAINER'
  /** Two inputs that must come from the same base do not (e.g. module refs vs a base diff). */
  | 'BTF_BASE_MISMATCH';

export class BtfError extends Error {
  override readonly name = 'BtfError';
  constructor(
    readonly code: BtfErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Relocation (or distillation) failed the way libbpf's btf__relocate / btf__distill_base fails. `errno`
 * is what libbpf (and the kernel, which shares btf_relocate.c) returns: EINVAL for an unmatched or
 * ambiguous type or a malformed distilled base, ENOENT for a name offset with no mapping.
 */
export class BtfRelocationError extends BtfError {
  constructor(
    message: string,
    readonly errno: number,
    /**
     * `message` is the line btf_relocate.c prints with pr_warn (libbpf prefixes it with "libbpf: ",
     * the kernel prints it bare); false for preconditions both fail without a word.
     */
    readonly printed = true,
  ) {
    super('BTF_RELOCATION', message);
  }
}

export const EINVAL = 22;
export const ENOENT = 2;
