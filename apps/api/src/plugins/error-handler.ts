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
interface BodyLimits {
  upload: number;
  json: number;
}

function fastifyBody(err: FastifyError, request: FastifyRequest, limits: BodyLimits): ErrorBody | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const json = /^application\/json\b/i.test(request.headers['content-type'] ?? '');
      const limit = json ? limits.json : limits.upload;
      return {
        statusCode: 413,
        error: 'UPLOAD_TOO_LARGE',
        message: `request body larger than the limit of ${limit} bytes (${json ? 'BTFWATCH_JSON_LIMIT' : 'BTFWATCH_UPLOAD_LIMIT'})`,
        details: { limitBytes: limit },
      };
    }
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
  limits: BodyLimits,
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
      fastifyBody(err, request, limits) ?? {
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
    const limits = { upload: app.deps.config.uploadLimitBytes, json: app.deps.config.jsonLimitBytes };
    app.setErrorHandler((err: FastifyError & { errors?: unknown[] }, request, reply) => {
      let body = toBody(err, request, limits);
      if (!body) {
        request.log.error({ err }, 'unhandled error');
        body = { statusCode: 500, error: 'INTERNAL', message: 'internal error; see the server log' };
      }
      const retryAfter = body.details?.retryAfterSeconds;
      if (body.statusCode === 429 && typeof retryAfter === 'number')
        void reply.header('retry-after', retryAfter);
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
