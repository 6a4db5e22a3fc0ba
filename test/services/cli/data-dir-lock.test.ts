// One writer per embedded data directory: whichever of `serve` and `scan` opens it first keeps it, the other is
// refused with a line naming the holder, and nothing either stored is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror } from '../../support/mirror-server/index.ts';
import { runCliAsync, startCliService } from '../../support/cli.ts';
import { tempDir } from '../../support/services.ts';
import { RELEASES } from '../../support/fixtures.ts';

const embedded = (dir: string) => ({
  DATA_DIR: dir,
  DATABASE_URL: '',
  REDIS_URL: '',
  BTFWATCH_SCAN_INTERVAL: '0',
});

async function kernels(url: string): Promise<Array<{ release: string }>> {
  return ((await (await fetch(`${url}/v1/kernels`)).json()) as { items: Array<{ release: string }> }).items;
}

test(
  'serve first: a scan on its data dir is refused naming serve, and the data of both survives',
  { timeout: 300_000 },
  async () => {
    const work = tempDir();
    const data = tempDir();
    const debs = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [debs.image] } } },
    });
    const scan = () =>
      runCliAsync(
        [
          'scan',
          '--apt',
          mirror.aptUrl,
          '--suite',
          'bookworm-security',
          '--keyring',
          mirror.key.publicKeyPath,
        ],
        embedded(data.path),
      );
    try {
      let svc = await startCliService('serve', embedded(data.path));
      try {
        const refused = await scan();
        assert.equal(refused.status, 1, refused.stdout + refused.stderr);
        assert.match(
          refused.stderr,
          new RegExp(
            `^btfwatch: the embedded database in .* is in use by btfwatch serve \\(pid ${svc.child.pid}, since `,
            'm',
          ),
        );
        assert.match(refused.stderr, /\(DB_LOCKED\)$/m);
        assert.deepEqual(await kernels(svc.url), [], 'nothing half-written by the refused scan');
      } finally {
        assert.equal(await svc.stop(), 0);
      }
      // Once serve is gone the scan runs, and the service started afterwards serves what it stored.
      const ran = await scan();
      assert.equal(ran.status, 0, ran.stdout + ran.stderr);
      assert.match(ran.stdout, /^kernel builds: 1$/m);
      svc = await startCliService('serve', embedded(data.path));
      try {
        assert.deepEqual(
          (await kernels(svc.url)).map((k) => k.release),
          [RELEASES.bookworm56],
        );
      } finally {
        assert.equal(await svc.stop(), 0);
      }
    } finally {
      await mirror.close();
      work.remove();
      data.remove();
    }
  },
);

test(
  'scan first: serve is refused while the scan runs, and then serves everything the scan stored',
  { timeout: 300_000 },
  async () => {
    const work = tempDir();
    const data = tempDir();
    const debs = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [debs.image] } } },
    });
    // The package download stalls, so the scan holds the data dir long enough for serve to try.
    mirror.setFault('pool/**/*.deb', { kind: 'delay', headersMs: 6000 });
    try {
      const scanning = runCliAsync(
        [
          'scan',
          '--apt',
          mirror.aptUrl,
          '--suite',
          'bookworm-security',
          '--keyring',
          mirror.key.publicKeyPath,
        ],
        embedded(data.path),
      );
      // Wait for the scan to hold the lock (its holder file names it).
      let refusal = '';
      for (let i = 0; i < 50 && !refusal; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const attempt = await startCliService('serve', embedded(data.path)).then(
          async (svc) => {
            await svc.stop();
            return '';
          },
          (err: Error) => err.message,
        );
        if (/in use by btfwatch scan/.test(attempt)) refusal = attempt;
      }
      assert.match(refusal, /is in use by btfwatch scan --apt .* \(pid \d+, since /);
      const done = await scanning;
      assert.equal(done.status, 0, done.stdout + done.stderr);
      assert.match(done.stdout, /^kernel builds: 1$/m);
      const svc = await startCliService('serve', embedded(data.path));
      try {
        assert.deepEqual(
          (await kernels(svc.url)).map((k) => k.release),
          [RELEASES.bookworm56],
        );
      } finally {
        assert.equal(await svc.stop(), 0);
      }
    } finally {
      await mirror.close();
      work.remove();
      data.remove();
    }
  },
);
