// The offline commands answer at once: `btfwatch --help`, `inspect`, `check` and `guard` never load the service
// stack. Every module the CLI process resolves is recorded (test/support/imports) and searched for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELEASES, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';
import { nodeArgs } from '../../support/cli.ts';
import { SERVICE_STACK, importRecorder } from '../../support/imports/stack.ts';

const recorder = importRecorder;

function loadedBy(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; urls: string[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-imports-'));
  try {
    const file = join(dir, 'imports.txt');
    writeFileSync(file, '');
    const r = spawnSync(process.execPath, ['--import', recorder, ...nodeArgs, ...args], {
      env: { ...process.env, ...env, BTFWATCH_RECORD_IMPORTS: file },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return {
      status: r.status,
      urls: readFileSync(file, 'utf8').split('\n').filter(Boolean),
      stderr: r.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertLight(args: string[], expectedStatus: number) {
  const { status, urls, stderr } = loadedBy(args);
  assert.equal(status, expectedStatus, stderr);
  // The recorder works: the CLI's own entry was seen.
  assert.ok(
    urls.some((u) => u.endsWith('/apps/cli/src/main.ts')),
    `recorded ${urls.length} modules, not the CLI entry`,
  );
  const heavy = urls.filter((u) => SERVICE_STACK.some((s) => u.includes(s)));
  assert.deepEqual(heavy, [], `btfwatch ${args.join(' ')} loaded the service stack`);
}

test('btfwatch --help and every command --help load none of fastify, bullmq, ioredis, pg, PGlite', () => {
  assertLight(['--help'], 0);
  for (const command of ['check', 'inspect', 'guard', 'serve', 'api', 'worker', 'migrate'])
    assertLight([command, '--help'], 0);
});

test('inspect and offline check load none of the service stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-light-'));
  try {
    const kernel = join(dir, 'vmlinux.btf');
    writeFileSync(kernel, vmlinuxBtf(RELEASES.bookworm56));
    const modules = ['dummy.ko', 'veth.ko', 'overlay.ko'].map((m) => {
      const path = join(dir, m);
      writeFileSync(path, moduleElf(RELEASES.bookworm55, m));
      return path;
    });
    assertLight(['inspect', kernel], 0);
    // 55's modules on 56: rejected, so check exits 1.
    assertLight(['check', '--kernel', kernel, '--kernel-version', '6.1.192', ...modules], 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
