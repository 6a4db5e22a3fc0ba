import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import responseValidation from '@fastify/response-validation';
import rateLimit from '@fastify/rate-limit';
import ajvFormats from 'ajv-formats';
import type { Btf } from '@btfwatch/btf';
import { describeBaseDiff } from '@btfwatch/compat';
import { createEvaluator } from '@btfwatch/evaluate';
import type { ApiDeps } from './deps.ts';
import { loadOpenapi } from './openapi.ts';
import { installErrorHandler } from './plugins/error-handler.ts';
import { installMetrics } from './plugins/metrics.ts';
import { securityHook, type SecurityRequirement } from './plugins/auth.ts';
import { dashboard } from './plugins/dashboard.ts';
import { routeHandlers } from './routes/index.ts';
import { cacheCompatAnswer } from './routes/compat.ts';
import { KernelLookups, ResponseCache } from './compat-cache.ts';
import { ApiError } from './errors.ts';

const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Two bases' diff walks both type graphs (seconds for a vmlinux) and never changes: keep the last few, as a
 * kernel page and its diff links ask for the same pairs again.
 */
function cachedBaseDiff(capacity = 16): (a: Btf, b: Btf) => Record<string, unknown> {
  const cache = new Map<string, Record<string, unknown>>();
  return (a, b) => {
    const key = `${a.sha256}>${b.sha256}`;
    let diff = cache.get(key);
    if (diff) cache.delete(key);
    else diff = describeBaseDiff(a, b);
    cache.set(key, diff);
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return diff;
  };
}

/** Each operation's security requirements: its own, else the document's. */
function operationSecurity(spec: Record<string, unknown>): Map<string, SecurityRequirement[]> {
  const global = (spec.security ?? []) as SecurityRequirement[];
  const out = new Map<string, SecurityRequirement[]>();
  for (const item of Object.values(spec.paths as Record<string, Record<string, unknown>>))
    for (const op of Object.values(item) as Array<{ operationId?: string; security?: SecurityRequirement[] }>)
      if (op.operationId) out.set(op.operationId, op.security ?? global);
  return out;
}

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

/** Route options besides the handler, by operation. */
const ROUTE_OPTIONS: Record<string, Record<string, unknown>> = {
  getCompat: { onSend: cacheCompatAnswer },
};

export async function buildApp(deps: ApiDeps, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: deps.config.uploadLimitBytes,
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
    },
  });
  app.decorate('deps', deps);
  app.decorate('evaluator', createEvaluator(deps.database));
  app.decorate('baseDiff', cachedBaseDiff());
  app.decorate('compatCache', {
    kernels: new KernelLookups(options.kernelLookupTtlMs ?? 1000),
    responses: new ResponseCache(options.responseCacheBytes ?? 64 * 1024 * 1024),
  });
  installErrorHandler(app);
  installMetrics(app);

  if (deps.config.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      max: deps.config.rateLimitPerMinute,
      timeWindow: '1 minute',
      // Probes and scrapes are never limited (with or without a query string).
      allowList: (req) => UNLIMITED.has(req.url.split('?')[0] ?? ''),
      errorResponseBuilder: (_req, ctx) => {
        const retryAfterSeconds = Math.ceil(ctx.ttl / 1000);
        return new ApiError(
          429,
          'RATE_LIMITED',
          `rate limit of ${ctx.max} requests per minute exceeded; retry in ${retryAfterSeconds} s`,
          { limitPerMinute: ctx.max, retryAfterSeconds },
        );
      },
    });
  }

  // Uploaded modules and BTF arrive as raw bytes.
  app.addContentTypeParser(
    ['application/octet-stream', 'application/x-object', 'application/x-elf'],
    { parseAs: 'buffer', bodyLimit: deps.config.uploadLimitBytes },
    (_req, body, done) => done(null, body),
  );

  const specification = loadOpenapi();
  await app.register(swagger, { mode: 'static', specification: { document: specification as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  if (options.validateResponses !== false)
    await app.register(responseValidation, {
      // removeAdditional: false, or a field the contract does not declare would be stripped silently
      // (the plugin's default) instead of failing.
      ajv: {
        coerceTypes: false,
        removeAdditional: false,
        keywords: ['example'],
        plugins: [ajvFormats as never],
      },
      responseStatusCodeValidation: true,
    });

  const handlers = routeHandlers();
  const security = operationSecurity(specification);
  await app.register(openapiGlue, {
    specification,
    operationResolver: (operationId: string) => {
      const handler = handlers[operationId];
      // A contract operation without an implementation is a build error, not a runtime 500.
      if (!handler) throw new Error(`openapi.yaml operation ${operationId} has no handler`);
      // Security is ours (not the glue's preHandler), so it runs first: see securityHook.
      const preParsing = securityHook(deps.config, security.get(operationId) ?? []);
      // Glue spreads these over the route it builds; its type wants a whole RouteOptions (method, url too).
      return { handler, ...(preParsing ? { preParsing } : {}), ...ROUTE_OPTIONS[operationId] } as never;
    },
  });
  await app.register(dashboard);
  return app;
}
