import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from '../errors.ts';

/** Probes and scrapes are never limited (with or without a query string). */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** Requests per minute per client (BTFWATCH_RATE_LIMIT; 0 turns it off), refused as a typed 429. */
export const requestRateLimit = fp(
  async (app) => {
    const max = app.deps.config.rateLimitPerMinute;
    if (max <= 0) return;
    await app.register(rateLimit, {
      max,
      timeWindow: '1 minute',
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
  },
  { name: 'rate-limit', dependencies: ['resources'] },
);
