// The parser fuzz of test/unit/pkg/fuzz-parsers.test.ts with another seed and more inputs: every failure still a
// typed error. Runs that file in a child process with FUZZ_SCALE/FUZZ_SEED. In `npm test` it runs at 2× its unit
// size (~200k more inputs, so CI stays within its time); BTFWATCH_FUZZ_LONG_SCALE=20 (~2 M inputs, ~20 min
// here) is the long run before a release or after changing a parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../../unit/pkg/fuzz-parsers.test.ts', import.meta.url));

const SCALE = process.env.BTFWATCH_FUZZ_LONG_SCALE ?? '2';

test(`parser fuzz ×${SCALE}, seed 0x2014`, { timeout: 3 * 3600_000 }, () => {
  const r = spawnSync(
    process.execPath,
    ['--conditions=btfwatch-source', '--import', 'tsx', '--test', '--test-reporter=tap', file],
    {
      env: { ...process.env, FUZZ_SCALE: SCALE, FUZZ_SEED: String(0x2014) },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stdout, /# pass 5/);
});
