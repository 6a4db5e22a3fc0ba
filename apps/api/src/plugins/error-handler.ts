import type { FastifyError, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.ts';

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Fastify's own 4xx errors, reworded for API clients. */
function fastifyBody(
  err: FastifyError,
  request: FastifyRequest,
  uploadLimitBytes: number,
): ErrorBody | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        error: 'UPLOAD_TOO_LARGE',
        message: `request body larger than the limit of ${uploadLimitBytes} bytes (BTFWATCH_UPLOAD_LIMIT)`,
        details: { limitBytes: uploadLimitBytes },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        statusCode: 415,
        error: 'UNSUPPORTED_MEDIA_TYPE',
        message: `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted here: send JSON as application/json, files as application/octet-stream`,
      };
    default:
      return undefined;
  }
}

function toBody(
  err: FastifyError & { errors?: unknown[] },
  request: FastifyRequest,
  uploadLimitBytes: number,
): ErrorBody | undefined {
  // Security handler failures arrive wrapped, with what each handler threw in `errors`.
  const api = err instanceof ApiError ? err : err.errors?.find((e): e is ApiError => e instanceof ApiError);
  if (api) {
    const body: ErrorBody = { statusCode: api.statusCode, error: api.code, message: api.message };
    if (api.details) body.details = api.details;
    return body;
  }
  if (err.validation) return { statusCode: 400, error: 'INVALID_REQUEST', message: err.message };
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return (
      fastifyBody(err, request, uploadLimitBytes) ?? {
        statusCode: err.statusCode,
        error: err.code ?? 'BAD_REQUEST',
        message: err.message,
      }
    );
  }
  return undefined;
}

/** Library and validation errors become 4xx with a clear message; anything else is a 500 that hides internals. */
export const errorHandler = fp(
  async (app) => {
    const limit = app.deps.config.uploadLimitBytes;
    app.setErrorHandler((err: FastifyError & { errors?: unknown[] }, request, reply) => {
      let body = toBody(err, request, limit);
      if (!body) {
        request.log.error({ err }, 'unhandled error');
        body = { statusCode: 500, error: 'INTERNAL', message: 'internal error; see the server log' };
      }
      void reply.code(body.statusCode).type('application/json').send(body);
    });

    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0];
      void reply
        .code(404)
        .send({ statusCode: 404, error: 'NOT_FOUND', message: `no route ${request.method} ${path}` });
    });
  },
  { name: 'error-handler', dependencies: ['resources'] },
);
