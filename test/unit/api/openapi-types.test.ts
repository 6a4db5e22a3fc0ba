// Route handlers are type-checked against types generated from openapi.yaml: the committed file must be what
// the generator makes of the current contract, or a changed operation would be checked against the old one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../../support/fixtures.ts';

test('apps/api/src/generated/openapi.ts is generated from the current openapi.yaml', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/api-types.ts', '--check'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
});
