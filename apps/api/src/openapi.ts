import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const openapiPath = new URL('../../../openapi.yaml', import.meta.url).pathname;

let cached: Record<string, unknown> | undefined;

/** openapi.yaml, parsed once; the contract both for routing/validation and for the docs UI. */
export function loadOpenapi(): Record<string, unknown> {
  cached ??= parse(readFileSync(openapiPath, 'utf8')) as Record<string, unknown>;
  return structuredClone(cached);
}
