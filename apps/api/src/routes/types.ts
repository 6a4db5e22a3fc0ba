import type { FastifyReply, FastifyRequest } from 'fastify';

// Requests are validated against openapi.yaml before a handler runs; handlers narrow params/query/body by cast.
export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
export type Handlers = Record<string, Handler>;
