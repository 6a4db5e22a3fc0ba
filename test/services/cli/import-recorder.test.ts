// The import recorder the offline-command tests rely on (test/unit/cli/light-commands.test.ts) must see the
// service stack where it is loaded: `btfwatch migrate` opens the embedded database (PGlite), so it is here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgs } from '../../support/cli.ts';
import { SERVICE_STACK, importRecorder } from '../../support/imports/stack.ts';

test('the recorder sees the service stack where it is loaded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-migrate-'));
  try {
    const file = join(dir, 'imports.txt');
    writeFileSync(file, '');
    const r = spawnSync(process.execPath, ['--import', importRecorder, ...nodeArgs, 'migrate'], {
      env: { ...process.env, DATA_DIR: join(dir, 'data'), BTFWATCH_RECORD_IMPORTS: file },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.ok(
      urls.some((u) => SERVICE_STACK.some((s) => u.includes(s))),
      'migrate loads the database stack, and the recorder must see it',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
