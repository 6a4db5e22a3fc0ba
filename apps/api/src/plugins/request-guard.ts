import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.ts';

/** Where the first NUL byte of a request's decoded text is, e.g. `query.distro`; undefined when none. */
function nulAt(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > 32 || Buffer.isBuffer(value)) return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return `${path}.${JSON.stringify(k)}`;
    const found = nulAt(v, Array.isArray(value) ? `${path}[${k}]` : `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

const mediaType = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase();

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The media types the operation's contract accepts for a body (set for every contract route). */
    bodyMediaTypes?: string[];
  }
}

/** The media types the route's contract accepts for a body; undefined for routes outside the contract. */
function acceptedMediaTypes(request: FastifyRequest): string[] | undefined {
  return request.routeOptions.config?.bodyMediaTypes;
}

/**
 * What every route refuses before validation, in one place: text the database cannot hold (a NUL byte in
 * any parameter or JSON string, a 400), and a body in a media type the operation does not declare (a 415:
 * fastify would parse `text/plain` and skip the body schema, which is declared per media type).
 */
export const requestGuard = fp(
  async (app) => {
    // Before the body is read: a JSON body sent to an upload route (or a file to a JSON one) is refused unread.
    app.addHook('onRequest', async (request) => {
      const accepted = acceptedMediaTypes(request);
      const hasBody =
        request.headers['transfer-encoding'] !== undefined ||
        Number(request.headers['content-length'] ?? 0) > 0;
      if (accepted && accepted.length > 0 && hasBody) {
        const type = mediaType(request.headers['content-type']);
        if (!accepted.includes(type))
          throw new ApiError(
            415,
            'UNSUPPORTED_MEDIA_TYPE',
            `Content-Type ${JSON.stringify(type)} is not accepted here: send ${accepted.join(' or ')}`,
            { accepted },
          );
      }
    });
    app.addHook('preValidation', async (request) => {
      const where =
        nulAt(request.params, 'path') ?? nulAt(request.query, 'query') ?? nulAt(request.body, 'body');
      if (where)
        throw new ApiError(
          400,
          'INVALID_REQUEST',
          `${where} contains a NUL byte, which no text field may hold`,
          {
            field: where,
          },
        );
    });
  },
  { name: 'request-guard', dependencies: ['error-handler'] },
);
