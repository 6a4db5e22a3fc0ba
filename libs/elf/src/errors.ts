export type ElfErrorCode = 'ELF_BAD_MAGIC' | 'ELF_TRUNCATED' | 'ELF_MALFORMED' | 'ELF_UNSUPPORTED';

export class ElfError extends Error {
  override readonly name = 'ElfError';
  constructor(
    readonly code: ElfErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
