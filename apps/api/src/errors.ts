/** An error a route throws to answer 4xx with a stable code and a clear message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, details?: Record<string, unknown>) =>
  new ApiError(404, 'NOT_FOUND', `${what} not found`, details);
export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(400, code, message, details);

/** An upload that decompresses past BTFWATCH_UPLOAD_EXPANDED_LIMIT: refused where the decoder stopped. */
export const expandsTooFar = (limitBytes: number, detail: string) =>
  new ApiError(
    413,
    'UPLOAD_TOO_LARGE',
    `the upload decompresses to more than ${limitBytes} bytes (BTFWATCH_UPLOAD_EXPANDED_LIMIT): ${detail}`,
    { limitBytes },
  );
