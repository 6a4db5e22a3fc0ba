import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../errors.ts';

/** Operations whose request decodes an upload (decompression, ELF and BTF parsing): the expensive ones. */
const EXPENSIVE = new Set(['uploadBaseBtf', 'checkUpload']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The contract's operationId of the route. */
    operationId?: string;
  }
}

const held = new WeakSet<FastifyRequest>();

/**
 * At most BTFWATCH_UPLOAD_CONCURRENCY uploads are read and decoded at once; one more is refused at once,
 * before its body is read, as a typed 429 with `Retry-After`. Memory then stays bounded by the cap times
 * the per-upload limits, however many clients push bombs in parallel.
 */
export const uploadSlots = fp(
  async (app) => {
    const cap = app.deps.config.uploadConcurrency;
    let busy = 0;
    const release = (request: FastifyRequest) => {
      if (!held.delete(request)) return;
      busy--;
    };
    app.addHook('onRequest', async (request) => {
      const op = request.routeOptions.config?.operationId;
      if (!op || !EXPENSIVE.has(op)) return;
      if (busy >= cap)
        throw new ApiError(
          429,
          'UPLOADS_BUSY',
          `${cap} upload${cap === 1 ? ' is' : 's are'} being checked already (BTFWATCH_UPLOAD_CONCURRENCY); retry in 1 s`,
          { concurrency: cap, retryAfterSeconds: 1 },
        );
      busy++;
      held.add(request);
    });
    app.addHook('onResponse', async (request) => release(request));
    app.addHook('onRequestAbort', async (request) => release(request));
  },
  { name: 'upload-slots', dependencies: ['error-handler'] },
);
