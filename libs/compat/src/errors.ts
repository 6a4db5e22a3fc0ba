export type CompatErrorCode =
  | 'COMPAT_BAD_SYMVERS'
  | 'COMPAT_BAD_CONFIG'
  | 'COMPAT_BAD_INPUT'
  /** An ELF that is no kernel module: a vmlinux, an executable, a header with nothing after it. */
  | 'COMPAT_NOT_A_MODULE';

export class CompatError extends Error {
  override readonly name = 'CompatError';
  constructor(
    readonly code: CompatErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
