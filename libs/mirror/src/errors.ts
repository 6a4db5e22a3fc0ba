/**
 * Errors thrown by @btfwatch/mirror. Callers decide by class, `code` or `transient`, never by message text.
 *
 * `transient` answers one question for the job queue: can the same request succeed if it is simply tried
 * again later, without anyone changing configuration or the mirror's signed content? Network failures,
 * timeouts, 5xx answers and bodies that disagree with their index (a mirror caught mid-sync) are transient;
 * missing files, 4xx answers, bad signatures and malformed signed metadata are not.
 */
export type MirrorErrorCode =
  | 'MIRROR_HTTP'
  | 'MIRROR_NOT_FOUND'
  | 'MIRROR_REDIRECT_REFUSED'
  | 'MIRROR_NETWORK'
  | 'MIRROR_TIMEOUT'
  | 'MIRROR_TRUNCATED'
  | 'MIRROR_SIZE'
  | 'MIRROR_CHECKSUM'
  | 'MIRROR_SIGNATURE'
  | 'MIRROR_STALE'
  | 'MIRROR_PARSE'
  | 'MIRROR_INDEX_TOO_LARGE'
  | 'MIRROR_INDEX_UNAVAILABLE'
  | 'MIRROR_CONFIG'
  | 'MIRROR_ABORTED';

export interface MirrorErrorOptions {
  cause?: unknown;
  /** The URL being fetched or the index being parsed, when there is one. */
  url?: string;
}

export abstract class MirrorError extends Error {
  abstract readonly code: MirrorErrorCode;
  abstract readonly transient: boolean;
  readonly url: string | undefined;

  constructor(message: string, options: MirrorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.url = options.url;
  }
}

/** An HTTP answer that is neither success nor "not found". 5xx, 408 and 429 are transient, other 4xx not. */
export class MirrorHttpError extends MirrorError {
  readonly code = 'MIRROR_HTTP';
  readonly transient: boolean;
  readonly status: number;
  /** How long the server asked us to wait (Retry-After), in milliseconds, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(status: number, options: MirrorErrorOptions & { retryAfterMs?: number | undefined } = {}) {
    super(`HTTP ${status}${options.url ? ` for ${options.url}` : ''}`, options);
    this.status = status;
    this.transient = status >= 500 || status === 408 || status === 429;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** 404 or 410: the file is not on the mirror. */
export class MirrorNotFoundError extends MirrorError {
  readonly code = 'MIRROR_NOT_FOUND';
  readonly transient = false;
  readonly status: number;

  constructor(status: number, options: MirrorErrorOptions = {}) {
    super(`HTTP ${status}: not found${options.url ? `: ${options.url}` : ''}`, options);
    this.status = status;
  }
}

/** A redirect the mirror address policy does not follow (see redirect-policy.ts); permanent. */
export class MirrorRedirectRefusedError extends MirrorError {
  readonly code = 'MIRROR_REDIRECT_REFUSED';
  readonly transient = false;
}

/** Connection refused or reset, DNS failure, socket closed early without a length to compare against. */
export class MirrorNetworkError extends MirrorError {
  readonly code = 'MIRROR_NETWORK';
  readonly transient = true;
}

/** Connect, headers or body (idle) timeout. */
export class MirrorTimeoutError extends MirrorError {
  readonly code = 'MIRROR_TIMEOUT';
  readonly transient = true;
  readonly phase: 'connect' | 'headers' | 'body';

  constructor(phase: 'connect' | 'headers' | 'body', options: MirrorErrorOptions = {}) {
    super(`${phase} timeout${options.url ? ` for ${options.url}` : ''}`, options);
    this.phase = phase;
  }
}

/** The body ended before the announced Content-Length or the size the index promised. */
export class MirrorTruncatedError extends MirrorError {
  readonly code = 'MIRROR_TRUNCATED';
  readonly transient = true;
}

/**
 * The body's size is not what was expected: not the size the (verified) index lists (`limit: 'listed'`),
 * or more than a caller's cap on what it accepts into memory (`limit: 'max'`). A body larger than allowed
 * is aborted as soon as it passes the limit, so `actual` is then a lower bound (`atLeast`).
 */
export class MirrorSizeError extends MirrorError {
  readonly code = 'MIRROR_SIZE';
  // The index and the file disagree, which is what a mirror caught mid-sync looks like.
  readonly transient = true;
  readonly expected: number;
  readonly actual: number;
  readonly limit: 'listed' | 'max';
  readonly atLeast: boolean;

  constructor(
    expected: number,
    actual: number,
    options: MirrorErrorOptions & { limit?: 'listed' | 'max'; atLeast?: boolean } = {},
  ) {
    const limit = options.limit ?? 'listed';
    const atLeast = options.atLeast ?? false;
    const got = atLeast ? `more (stopped after ${actual})` : String(actual);
    const what =
      limit === 'listed'
        ? `listed ${expected} bytes, got ${got}`
        : `body of ${atLeast ? 'more than ' : ''}${actual} bytes exceeds the ${expected} bytes allowed`;
    super(`${what}${options.url ? ` for ${options.url}` : ''}`, options);
    this.expected = expected;
    this.actual = actual;
    this.limit = limit;
    this.atLeast = atLeast;
  }
}

/** The downloaded bytes do not hash to what the (verified) index says. */
export class MirrorChecksumError extends MirrorError {
  readonly code = 'MIRROR_CHECKSUM';
  // See MirrorSizeError: a mirror mid-sync serves new files under old indexes for a while.
  readonly transient = true;
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string, options: MirrorErrorOptions = {}) {
    super(
      `sha256 ${actual} does not match the expected ${expected}${options.url ? ` for ${options.url}` : ''}`,
      options,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Missing, malformed or unverifiable signature, or signed metadata that names another suite. */
export class MirrorSignatureError extends MirrorError {
  readonly code = 'MIRROR_SIGNATURE';
  readonly transient = false;
}

/** Signed metadata that is expired (Valid-Until) or older than what this caller has already seen. */
export class MirrorStaleError extends MirrorError {
  readonly code = 'MIRROR_STALE';
  readonly transient = false;
}

/** Metadata (Release, Packages, Contents, repomd, primary, filelists) that cannot be parsed. */
export class MirrorParseError extends MirrorError {
  readonly code = 'MIRROR_PARSE';
  readonly transient = false;
}

/**
 * An index decompresses to more than the caller allows (`ScanDeps.maxIndexBytes`): a decompression bomb
 * or a repository far beyond what the limit was sized for. Its compressed bytes were signed, so trying
 * again cannot help; raising the limit can.
 */
export class MirrorIndexTooLargeError extends MirrorError {
  readonly code = 'MIRROR_INDEX_TOO_LARGE';
  readonly transient = false;
  readonly limit: number;

  constructor(limit: number, options: MirrorErrorOptions = {}) {
    super(`${options.url ?? 'index'}: decompresses to more than maxIndexBytes (${limit} bytes)`, options);
    this.limit = limit;
  }
}

/** One failed way of getting an index: which URL, and what came instead of the listed bytes. */
export interface IndexAttempt {
  url: string;
  code: MirrorErrorCode;
  message: string;
}

/**
 * No listed variant of an index (by-hash or by name, any listed compression) could be had with the size
 * and hash the Release lists, after retries: typically a mirror caught mid-sync. `attempts` says what was
 * tried and what came; the message names the first mismatch (`listed 12699567 bytes, got 12698511`).
 */
export class MirrorIndexUnavailableError extends MirrorError {
  readonly code = 'MIRROR_INDEX_UNAVAILABLE';
  readonly transient: boolean;
  /** The index as the Release names it (`main/binary-amd64/Packages`). */
  readonly index: string;
  readonly attempts: readonly IndexAttempt[];

  constructor(index: string, attempts: readonly IndexAttempt[], options: MirrorErrorOptions = {}) {
    const mismatch = attempts.find((a) => a.code === 'MIRROR_SIZE' || a.code === 'MIRROR_CHECKSUM');
    const shown = mismatch ?? attempts[attempts.length - 1];
    super(
      `${index}: no copy has the size and sha256 the signed metadata lists (${attempts.length} attempt(s))` +
        (shown ? `: ${shown.message}` : ''),
      options,
    );
    this.index = index;
    this.attempts = attempts;
    // Only files that were there but wrong can be right later; an index missing everywhere stays missing.
    this.transient = attempts.some((a) => a.code !== 'MIRROR_NOT_FOUND');
  }
}

/** The caller's configuration cannot work: unreadable keyring, bad URL, no key without `insecure`. */
export class MirrorConfigError extends MirrorError {
  readonly code = 'MIRROR_CONFIG';
  readonly transient = false;
}

/** The caller's AbortSignal fired. */
export class MirrorAbortedError extends MirrorError {
  readonly code = 'MIRROR_ABORTED';
  readonly transient = false;
}
