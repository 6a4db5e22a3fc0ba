import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const openapiPath = new URL('../../../openapi.yaml', import.meta.url).pathname;

let cached: Record<string, unknown> | undefined;

/** openapi.yaml, parsed once; the contract both for routing/validation and for the docs UI. */
export function loadOpenapi(): Record<string, unknown> {
  // merge: KernelDetail reuses Kernel's properties with a YAML merge key.
  cached ??= parse(readFileSync(openapiPath, 'utf8'), { merge: true }) as Record<string, unknown>;
  return structuredClone(cached);
}
