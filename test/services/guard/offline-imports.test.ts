import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeArgs } from '../../support/cli.ts';
import {
  IMAGE_PACKAGE,
  K_VERSION,
  U_VERSION,
  bootedArgs,
  buildGuardDebs,
  writeGuardHost,
  type GuardHost,
} from '../../support/guard.ts';
import { tempDir } from '../../support/services.ts';
import { SERVICE_STACK, importRecorder } from '../../support/imports/stack.ts';

// guard runs inside apt and dnf on every install: a whole check (reading a package, judging its modules,
// the report) loads none of the service's stack. Every module URL the CLI process resolves is recorded
// (test/support/imports) and searched; test/unit/cli/light-commands.test.ts does the same for --help.
const recorder = importRecorder;

const work = tempDir('btfwatch-guard-imports-');
let host: GuardHost;
let u: string;
before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  ({ u } = await buildGuardDebs(work.path));
});
after(() => work.remove());

function loadedBy(args: string[], input?: string) {
  const file = join(work.path, `imports-${args[1] ?? 'x'}.txt`);
  writeFileSync(file, '');
  const r = spawnSync(process.execPath, ['--import', recorder, ...nodeArgs, ...args], {
    env: { ...process.env, BTFWATCH_RECORD_IMPORTS: file },
    encoding: 'utf8',
    input,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, urls: readFileSync(file, 'utf8').split('\n').filter(Boolean) };
}

test('a whole guard run, by hand or as apt’s hook, loads none of fastify, bullmq, ioredis, pg, PGlite or the worker', () => {
  const byHand = loadedBy(['guard', ...bootedArgs(host, host.strictConfig), u]);
  const input = `VERSION 3\n\n${IMAGE_PACKAGE} ${K_VERSION} amd64 same < ${U_VERSION} amd64 same ${u}\n`;
  const hook = loadedBy(['guard', '--apt-hook', ...bootedArgs(host, host.strictConfig)], input);
  for (const [how, run] of Object.entries({ byHand, hook })) {
    assert.equal(run.status, 1, `${how}: ${run.stdout}`);
    assert.match(run.stdout, /^REFUSED: 12 modules/m, `${how}: the recorded run did the whole check`);
    assert.ok(
      run.urls.some((url) => url.endsWith('/libs/pkg/src/extract.ts')),
      `${how}: recorded the reads`,
    );
    assert.deepEqual(
      run.urls.filter((url) => SERVICE_STACK.some((s) => url.includes(s))),
      [],
      how,
    );
  }
});
