#!/usr/bin/env node
// Runs the test suite, a tier of it, or the files whose path contains a filter (Node's test runner, through tsx).
// Usage: node scripts/run-tests.mjs [--tier unit|services|heavy] [path-substring ...]
//   unit      pure: bytes in, values out, and local oracle tools (bpftool, readelf); no database, no Redis,
//             no servers, no qemu or browser. `npm run test:fast`.
//   services  real PostgreSQL and Redis, HTTP on loopback, CLI and service processes. `npm run test:services`.
//   heavy     qemu boots, Chromium, whole pinned kernel packages, the live mirror. `npm run test:heavy`.
// Every test lives under test/<tier>/: one beside the code or directly under test/ is refused, so none is
// skipped silently. Node does not expand globs here, so the files are collected and handed over.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const TIERS = ['unit', 'services', 'heavy'];
const skip = new Set(['node_modules', 'dist', 'fixtures', '.git', 'data', 'test-output']);

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const args = process.argv.slice(2);
const tierAt = args.indexOf('--tier');
const tier = tierAt >= 0 ? args[tierAt + 1] : undefined;
if (tierAt >= 0 && !TIERS.includes(tier)) {
  console.error(`--tier takes one of ${TIERS.join(', ')}`);
  process.exit(2);
}
const filters = tierAt < 0 ? args : args.filter((_, i) => i !== tierAt && i !== tierAt + 1);

const all = ['libs', 'apps', 'test', 'bench', 'scripts'].flatMap((r) => collect(join(root, r), [])).sort();
const misplaced = all.filter((f) => !TIERS.some((t) => f.startsWith(`test/${t}/`)));
if (misplaced.length > 0) {
  console.error(
    `tests outside test/unit, test/services and test/heavy would not run in a tier:\n  ${misplaced.join('\n  ')}`,
  );
  process.exit(1);
}
const files = all
  .filter((f) => !tier || f.startsWith(`test/${tier}/`))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(
    `no test files match ${[tier && `--tier ${tier}`, ...filters].filter(Boolean).join(' ') || '(all)'}`,
  );
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  [
    '--conditions=btfwatch-source',
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
