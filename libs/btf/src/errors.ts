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
