// The unit tier's fuzz files at full size and with other seeds: test/unit/pkg/fuzz-parsers.test.ts (98,720 mutated
// ELF, module BTF, Release/Packages, vmlinuz, .deb and .rpm inputs at scale 1) and test/unit/btf/fuzz.test.ts
// (10,500 BTF blobs): > 100k inputs in every `npm test`, every failure still a typed error. Each runs in a child
// process. BTFWATCH_FUZZ_LONG_SCALE multiplies both (20: ~2 M inputs, the long run before a release or after
// changing a parser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCALE = Number(process.env.BTFWATCH_FUZZ_LONG_SCALE ?? 1);

function runFuzz(relative: string, env: Record<string, string>, passes: number) {
  const file = fileURLToPath(new URL(relative, import.meta.url));
  const r = spawnSync(
    process.execPath,
    ['--conditions=btfwatch-source', '--import', 'tsx', '--test', '--test-reporter=tap', file],
    // Without NODE_TEST_CONTEXT the child reports as a test run of its own (TAP on stdout), not to this runner.
    {
      env: { ...process.env, NODE_TEST_CONTEXT: undefined, ...env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  assert.equal(r.status, 0, `${r.stdout.slice(-4000)}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stdout, new RegExp(`# pass ${passes}\\b`));
  assert.match(r.stdout, /# fail 0\b/);
}

test(`parser fuzz at scale ${SCALE}, seed 0x2014`, { timeout: 3 * 3600_000 }, () => {
  runFuzz('../../unit/pkg/fuzz-parsers.test.ts', { FUZZ_SCALE: String(SCALE), FUZZ_SEED: String(0x2014) }, 5);
});

test(`BTF fuzz: ${Math.round(10_500 * SCALE)} blobs`, { timeout: 3 * 3600_000 }, () => {
  runFuzz('../../unit/btf/fuzz.test.ts', { BTF_FUZZ_CASES: String(Math.round(10_500 * SCALE)) }, 5);
});
