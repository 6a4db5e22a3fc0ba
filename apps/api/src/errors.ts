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
