import type { FastifyReply, FastifyRequest } from 'fastify';
import type { operations } from '../generated/openapi.ts';

/** openapi.yaml's operation ids. */
export type OperationId = keyof operations;

type Parameters<K extends OperationId> = operations[K]['parameters'];
type Part<T, P extends string> = T extends { [key in P]?: infer V }
  ? V extends undefined
    ? unknown
    : V
  : unknown;
type JsonBody<K extends OperationId> = operations[K] extends { requestBody?: { content: infer C } }
  ? C extends { 'application/json': infer B }
    ? B
    : unknown
  : unknown;

/** A request to operation K, typed from openapi.yaml as it arrives after validation. */
export type OperationRequest<K extends OperationId> = FastifyRequest<{
  Querystring: Part<Parameters<K>, 'query'>;
  Params: Part<Parameters<K>, 'path'>;
  Body: JsonBody<K>;
}>;

export type Handler<K extends OperationId> = (
  request: OperationRequest<K>,
  reply: FastifyReply,
) => Promise<unknown>;

/** Handlers by operation id; `satisfies Handlers` types each one's request from the contract. */
export type Handlers = { [K in OperationId]?: Handler<K> };
