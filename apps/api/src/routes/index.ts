import type { FastifyInstance } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import { securityHook, type SecurityRequirement } from '../plugins/auth.ts';
import { alertHandlers } from './alerts.ts';
import { btfHandlers } from './btf.ts';
import { compatHandlers } from './compat.ts';
import { coverageHandlers } from './coverage.ts';
import { jobHandlers } from './jobs.ts';
import { kernelHandlers } from './kernels.ts';
import { mirrorHandlers } from './mirrors.ts';
import { matrixHandlers } from './matrix.ts';
import { serviceHandlers } from './service.ts';
import { webhookHandlers } from './webhooks.ts';
import type { Handlers, OperationId } from './types.ts';

export function routeHandlers(): Handlers {
  return {
    ...serviceHandlers,
    ...jobHandlers,
    ...kernelHandlers,
    ...mirrorHandlers,
    ...alertHandlers,
    ...matrixHandlers,
    ...webhookHandlers,
    ...compatHandlers,
    ...coverageHandlers,
    ...btfHandlers,
  };
}

/** The media types each operation's request body may be sent in (none: the operation takes no body). */
function operationMediaTypes(spec: Record<string, unknown>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const item of Object.values(spec.paths as Record<string, Record<string, unknown>>))
    for (const op of Object.values(item) as Array<{
      operationId?: string;
      requestBody?: { content?: object };
    }>)
      if (op.operationId && op.requestBody?.content)
        out.set(
          op.operationId,
          Object.keys(op.requestBody.content).map((t) => t.toLowerCase()),
        );
  return out;
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

/** Every operation of the contract, routed and validated by openapi-glue to its handler, behind its security. */
export async function routes(app: FastifyInstance, options: { specification: Record<string, unknown> }) {
  const handlers = routeHandlers();
  const security = operationSecurity(options.specification);
  const mediaTypes = operationMediaTypes(options.specification);
  await app.register(openapiGlue, {
    specification: options.specification,
    operationResolver: (operationId: string) => {
      const handler = handlers[operationId as OperationId];
      // A contract operation without an implementation is a build error, not a runtime 500.
      if (!handler) throw new Error(`openapi.yaml operation ${operationId} has no handler`);
      // Security is ours (not the glue's preHandler), so it runs first: see securityHook.
      const preParsing = securityHook(app.deps.config, security.get(operationId) ?? []);
      // Glue spreads these over the route it builds; its type wants a whole RouteOptions (method, url too).
      const config = { operationId, bodyMediaTypes: mediaTypes.get(operationId) ?? [] };
      return { handler, config, ...(preParsing ? { preParsing } : {}) } as never;
    },
  });
}
