import { createServer } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { boundRequestIntegers, isStorableDateTime } from './contract-bounds.ts';
import type { ApiDeps } from './deps.ts';
import { loadOpenapi } from './openapi.ts';
import { dashboard } from './plugins/dashboard.ts';
import { docs } from './plugins/docs.ts';
import { errorHandler } from './plugins/error-handler.ts';
import { metrics } from './plugins/metrics.ts';
import { requestRateLimit } from './plugins/rate-limit.ts';
import { requestGuard } from './plugins/request-guard.ts';
import { resources } from './plugins/resources.ts';
import { uploadSlots } from './plugins/upload-slots.ts';
import { uploads } from './plugins/uploads.ts';
import { routes } from './routes/index.ts';
import { compatCache } from './services/compat-cache.ts';
import { evaluator } from './services/evaluator.ts';

export interface BuildOptions {
  /**
   * Validate every response against openapi.yaml (on by default): its body, and that its status is one the
   * operation declares (an undeclared status becomes a 500, so tests catch it).
   */
  validateResponses?: boolean;
  /** Bytes of serialized GET /v1/compat answers kept in memory (default 64 MiB); 0 keeps none. */
  responseCacheBytes?: number;
  /**
   * How long a kernel lookup is reused (default 1000 ms): the most a change made by another process (or
   * this process's worker) takes to show in cached answers. Changes this API makes show at once.
   */
  kernelLookupTtlMs?: number;
}

const checkingInterval = (timeoutMs: number) =>
  timeoutMs > 0 ? Math.max(100, Math.min(30_000, Math.floor(timeoutMs / 4))) : 30_000;

/**
 * The HTTP API, laid out as infrastructure plugins (resources, errors, metrics, rate limit, uploads, docs),
 * then app plugins (the evaluator, the compat answer cache), then the routes of openapi.yaml and the dashboard.
 */
export async function buildApp(deps: ApiDeps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: deps.config.uploadLimitBytes,
    // A client gets this long to send its whole request: slow bodies cannot hold sockets forever. Node
    // checks that every connectionsCheckingInterval (30 s by default), which only its constructor takes.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: deps.config.requestTimeoutMs,
          connectionsCheckingInterval: checkingInterval(deps.config.requestTimeoutMs),
          keepAliveTimeout: 72_000,
        },
        handler,
      ),
    trustProxy: false,
    ajv: {
      // Unknown fields are refused, not silently dropped; query arrays are coerced.
      customOptions: {
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
        keywords: ['example'],
      },
      // After ajv-formats, so ours wins: a date-time the database and Date can both hold.
      onCreate: (ajv) => ajv.addFormat('date-time', { type: 'string', validate: isStorableDateTime }),
    },
  });
  const specification = boundRequestIntegers(loadOpenapi());
  await app.register(resources, deps);
  await app.register(errorHandler);
  await app.register(requestGuard);
  await app.register(metrics);
  await app.register(requestRateLimit);
  await app.register(uploads);
  await app.register(uploadSlots);
  await app.register(docs, { specification, validateResponses: options.validateResponses !== false });

  await app.register(evaluator);
  await app.register(compatCache, {
    responseCacheBytes: options.responseCacheBytes ?? 64 * 1024 * 1024,
    kernelLookupTtlMs: options.kernelLookupTtlMs ?? 1000,
  });

  await app.register(routes, { specification });
  await app.register(dashboard);
  return app;
}
