import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { nodeArgs } from '../../support/cli.ts';
import { RELEASES, modulePath, repoRoot } from '../../support/fixtures.ts';
import { bootedArgs, buildGuardDebs, writeGuardHost, type GuardHost } from '../../support/guard.ts';
import { tempDir } from '../../support/services.ts';

// guard runs inside apt and dnf on every install: it must start without the service's stack.
const FORBIDDEN = ['fastify', 'bullmq', 'ioredis', 'pg', '@electric-sql/pglite', 'drizzle-orm'];
const FORBIDDEN_OURS = [
  'apps/worker/',
  'apps/api/',
  'libs/db/',
  'libs/jobs/',
  'libs/evaluate/',
  'libs/outbox/',
];

// Registered before the CLI loads: reports every module URL the CLI resolves, on stderr.
const tracer = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(`
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write('RESOLVED ' + result.url + '\\n');
  return result;
}`)}));`)}`;

const work = tempDir('btfwatch-guard-imports-');
let host: GuardHost;
let u: string;
before(async () => {
  host = writeGuardHost(join(work.path, 'host'));
  ({ u } = await buildGuardDebs(work.path));
});
after(() => work.remove());

function loaded(args: string[]): { status: number | null; urls: string[]; stdout: string } {
  const [conditions, importFlag, tsx, entry] = nodeArgs;
  const res = spawnSync(
    process.execPath,
    [conditions!, importFlag!, tsx!, '--import', tracer, entry!, ...args],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  const urls = res.stderr
    .split('\n')
    .filter((l) => l.startsWith('RESOLVED '))
    .map((l) => l.slice('RESOLVED '.length));
  return { status: res.status, urls, stdout: res.stdout };
}

function offenders(urls: string[]): string[] {
  return urls.filter(
    (url) =>
      FORBIDDEN.some((p) => url.includes(`/node_modules/${p}/`)) ||
      FORBIDDEN_OURS.some((p) => url.startsWith(`file://${repoRoot}${p}`)),
  );
}

test('guard, check and inspect load neither the worker nor fastify, bullmq, ioredis, pg or PGlite', () => {
  const runs = {
    guard: loaded(['guard', ...bootedArgs(host, host.strictConfig), u]),
    check: loaded([
      'check',
      '--kernel',
      host.btf,
      '--kernel-version',
      '6.1.192',
      modulePath(RELEASES.bookworm55, 'overlay.ko'),
    ]),
    inspect: loaded(['inspect', host.btf]),
  };
  assert.equal(runs.guard.status, 1, runs.guard.stdout);
  assert.match(runs.guard.stdout, /^REFUSED: /m, 'the traced run did the whole check');
  assert.equal(runs.check.status, 1, runs.check.stdout);
  assert.match(runs.check.stdout, /overlay\.ko\.xz: rejected/);
  for (const [command, run] of Object.entries(runs)) {
    assert.ok(
      run.urls.some((url) => url.includes('/libs/compat/')),
      `${command}: the tracer saw the CLI load`,
    );
    assert.deepEqual(offenders(run.urls), [], command);
  }
  // The tracer does catch the service stack where it is loaded.
  const scan = loaded(['scan', '--help']);
  assert.ok(
    offenders(scan.urls).some((url) => url.includes('/apps/worker/')),
    'scan loads the worker',
  );
});
