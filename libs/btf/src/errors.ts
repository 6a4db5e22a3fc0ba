export type BtfErrorCode =
  | 'BTF_BAD_MAGIC'
  | 'BTF_TRUNCATED'
  | 'BTF_BAD_HEADER'
  | 'BTF_BAD_STRINGS'
  | 'BTF_BAD_TYPE'
  | 'BTF_BAD_REFERENCE'
  | 'BTF_UNSUPPORTED'
  | 'BTF_NOT_FOUND'
  | 'BTF_RELOCATION';

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
