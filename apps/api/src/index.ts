export { buildApp } from './app.ts';
export type { BuildOptions } from './app.ts';
export type { ApiDeps } from './deps.ts';
export { ApiError } from './errors.ts';
export { loadOpenapi, openapiPath } from './openapi.ts';
// The decorations the plugins add to FastifyInstance (their module augmentations travel with these types).
export type { Metrics } from './plugins/metrics.ts';
export type { ResourcesPlugin } from './plugins/resources.ts';
export type { CompatCache } from './services/compat-cache.ts';
export type { EvaluatorPlugin } from './services/evaluator.ts';
