/**
 * Errors raised by @btfwatch/pkg. Callers decide by class or `code`, never by message text.
 *
 * Every malformed-input failure is one of these; an error thrown by a caller's own callback
 * (`onFile`, `onEntry`) is passed through unchanged.
 */
export type PkgErrorCode =
  | 'PKG_TRUNCATED'
  | 'PKG_BAD_MAGIC'
  | 'PKG_CORRUPT'
  | 'PKG_LIMIT_EXCEEDED'
  | 'PKG_UNSUPPORTED_COMPRESSION'
  | 'PKG_UNSAFE_PATH'
  | 'PKG_USAGE';

export class PkgError extends Error {
  readonly code: PkgErrorCode;
  constructor(code: PkgErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The input ended before a structure or a declared size was complete. */
export class PkgTruncatedError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_TRUNCATED', message, options);
  }
}

/** A container or compressed stream does not start with the bytes its format requires. */
export class PkgBadMagicError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_BAD_MAGIC', message, options);
  }
}

/** Structurally invalid input: bad header fields, checksum mismatch, undecodable compressed data. */
export class PkgCorruptError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_CORRUPT', message, options);
  }
}

/** A configured limit (sizes, counts, decompressed bytes) would be exceeded. */
export class PkgLimitExceededError extends PkgError {
  readonly limit: string;
  constructor(limit: string, message: string, options?: { cause?: unknown }) {
    super('PKG_LIMIT_EXCEEDED', message, options);
    this.limit = limit;
  }
}

/** A compression format we cannot (or were configured not to) decode. */
export class PkgUnsupportedCompressionError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_UNSUPPORTED_COMPRESSION', message, options);
  }
}

/** An archive member name that escapes its root (`..`), contains NUL, or is otherwise unusable. */
export class PkgUnsafePathError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_UNSAFE_PATH', message, options);
  }
}

/** The library was called in a way its contract forbids (e.g. reading a file after its callback returned). */
export class PkgUsageError extends PkgError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PKG_USAGE', message, options);
  }
}
