import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config } from '@btfwatch/config';
import { ApiError } from '../errors.ts';

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Security handlers named after openapi.yaml's securitySchemes. */
export function securityHandlers(config: Config) {
  return {
    adminToken(request: FastifyRequest) {
      if (!config.adminToken) {
        throw new ApiError(
          403,
          'ADMIN_DISABLED',
          'admin API disabled: set BTFWATCH_ADMIN_TOKEN to enable it',
        );
      }
      const token = bearer(request);
      if (!token || !same(token, config.adminToken)) {
        throw new ApiError(401, 'UNAUTHORIZED', 'admin endpoint: missing or invalid bearer token');
      }
    },
    readToken(request: FastifyRequest) {
      if (!config.readToken) return;
      const token = bearer(request);
      const ok =
        token !== undefined &&
        (same(token, config.readToken) || (!!config.adminToken && same(token, config.adminToken)));
      if (!ok) throw new ApiError(401, 'UNAUTHORIZED', 'missing or invalid bearer token');
    },
  };
}

/** An OpenAPI security requirement: every scheme named must pass. */
export type SecurityRequirement = Record<string, string[]>;

/**
 * A preParsing hook enforcing an operation's security (any one requirement passes). It runs after the
 * onRequest hooks (the rate limit counts refused clients too) and before the body is read or validated,
 * so a client without the token is refused from its headers: it learns nothing from validation errors and
 * cannot make the service buffer an upload. Undefined for public operations.
 */
export function securityHook(config: Config, requirements: SecurityRequirement[]) {
  if (requirements.length === 0) return undefined;
  const handlers: Record<string, (request: FastifyRequest) => void> = securityHandlers(config);
  for (const scheme of requirements.flatMap((r) => Object.keys(r)))
    if (!handlers[scheme]) throw new Error(`openapi.yaml security scheme ${scheme} has no handler`);
  return async <T>(request: FastifyRequest, _reply: unknown, payload: T): Promise<T> => {
    let refusal: unknown;
    for (const requirement of requirements) {
      try {
        for (const scheme of Object.keys(requirement)) handlers[scheme]!(request);
        return payload;
      } catch (err) {
        refusal ??= err;
      }
    }
    throw refusal;
  };
}
