/** openapi.yaml's shared error responses (components.responses) and the status each documents. */
export const SHARED_ERROR_STATUS: Record<string, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  KernelIncomplete: 409,
  TooLarge: 413,
  UnsupportedMediaType: 415,
  TooManyRequests: 429,
};
