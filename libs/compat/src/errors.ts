export type CompatErrorCode = 'COMPAT_BAD_SYMVERS' | 'COMPAT_BAD_CONFIG' | 'COMPAT_BAD_INPUT';

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
