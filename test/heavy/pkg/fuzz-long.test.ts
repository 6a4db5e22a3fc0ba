// The parser fuzz of test/unit/pkg/fuzz-parsers.test.ts at 20× its CI size (~2 M inputs) and another
// seed: every failure still a typed error. Runs that file in a child process with FUZZ_SCALE/FUZZ_SEED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('../../unit/pkg/fuzz-parsers.test.ts', import.meta.url));

test('parser fuzz ×20, seed 0x2014', { timeout: 3 * 3600_000 }, () => {
  const r = spawnSync(
    process.execPath,
    ['--conditions=btfwatch-source', '--import', 'tsx', '--test', '--test-reporter=tap', file],
    {
      env: { ...process.env, FUZZ_SCALE: process.env.FUZZ_SCALE ?? '20', FUZZ_SEED: String(0x2014) },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stdout, /# pass 5/);
});
