export { buildApp } from './app.ts';
export type { BuildOptions } from './app.ts';
export type { ApiDeps } from './deps.ts';
export { ApiError } from './errors.ts';
export { loadOpenapi, openapiPath } from './openapi.ts';
