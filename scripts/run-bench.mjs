#!/usr/bin/env node
// npm run bench -- NAME [args...]: runs bench/NAME.ts from source; with no NAME, lists the benchmarks.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(`${root}bench`)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- NAME\navailable: ${available.join(', ') || '(none)'}`);
  process.exit(name ? 1 : 0);
}
const result = spawnSync(
  process.execPath,
  ['--conditions=btfwatch-source', '--import', 'tsx', `bench/${name}.ts`, ...args],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
