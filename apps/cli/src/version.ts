import { readFileSync } from 'node:fs';

/** btfwatch's version, from the repository's package.json. */
export const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
