// The scan-mirror job on a loopback mirror with several suites: one expired, one whose Contents is gone,
// one fine. A suite that cannot be scanned fails alone (kept with the suite, the job completes); what the
// scan had to do without is a warning on the mirror and in the job; allowExpired lets the expired one in.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createMirror, createWebhook, getMirror, listSuiteStates, updateMirror } from '@btfwatch/db';
import { generateSecret } from '@btfwatch/webhooks';
import { Webhook } from 'standardwebhooks';
import { Receiver } from '../../support/receiver.ts';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { tempDir } from '../../support/services.ts';
import { startWorkerHarness, type WorkerHarness } from '../../support/worker-harness.ts';

const REL = '6.1.0-56-amd64';
const work = tempDir('bw-scan-job-');
let mirror: MirrorHandle;
let h: WorkerHarness;
const receiver = new Receiver();
const secret = generateSecret();

before(async () => {
  const image = await buildDeb(
    {
      name: `linux-headers-${REL}`,
      version: '6.1.192-1',
      files: {
        [`usr/src/linux-headers-${REL}/Module.symvers`]: '0x00000001\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n',
      },
    },
    join(work.path, 'debs'),
  );
  mirror = await startMirror({
    apt: {
      suites: {
        good: { packages: [image] },
        frozen: { packages: [image], validUntil: new Date(Date.now() - 3 * 86400_000) },
        synced: { packages: [image] },
      },
    },
  });
  h = await startWorkerHarness({ env: { BTFWATCH_WEBHOOK_ALLOW: '127.0.0.1' } });
  await receiver.start();
  await createWebhook(h.database.db, { url: receiver.url, secret, events: ['scan.failed'] });
});

/** The scan.failed events delivered so far, verified. */
async function scanFailedEvents(): Promise<Array<{ data: Record<string, unknown> }>> {
  await h.idle();
  return receiver.received.map(
    (r) =>
      new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as {
        data: Record<string, unknown>;
      },
  );
}

after(async () => {
  await h?.close();
  await receiver.stop();
  await mirror?.close();
  work.remove();
});

test('a failing suite fails alone; warnings reach the mirror and the job; allowExpired lets the expired suite in', async () => {
  // "synced": its Contents is listed but gone from the mirror (by-hash and by name).
  mirror.setFault('/debian/dists/synced/main/by-hash/*', { kind: 'status', status: 404 });
  mirror.setFault('/debian/dists/synced/main/Contents-amd64.gz', { kind: 'status', status: 404 });
  const { id } = await createMirror(h.database.db, {
    kind: 'apt',
    url: mirror.aptUrl.replace(/\/+$/, ''),
    distro: 'debian',
    suites: ['good', 'frozen', 'synced'],
    components: ['main'],
    arch: 'amd64',
    match: ['linux-headers-*', 'linux-image-6.1.0-5[56]-amd64'],
    keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
  });

  const first = await h.scan(id);
  assert.equal(first?.state, 'completed', first?.error ?? '');
  const result = first?.result as {
    packagesFound: number;
    failedSuites: Array<{ suite: string; code: string; message: string }>;
    warnings: Array<{ suite: string; code: string; message: string }>;
    suites: Array<{ suite: string; insecure: boolean; allowExpired: boolean }>;
  };
  assert.deepEqual(
    result.failedSuites.map((f) => [f.suite, f.code]),
    [['frozen', 'MIRROR_STALE']],
  );
  assert.match(result.failedSuites[0]!.message, /allowExpired \(CLI --allow-expired\)/);
  assert.equal(result.packagesFound, 2, 'good and synced each list the headers');
  assert.deepEqual(result.warnings.map((w) => [w.suite, w.code]).sort(), [
    ['good', 'MATCH_NOTHING'],
    ['synced', 'FILE_LIST_UNAVAILABLE'],
    ['synced', 'MATCH_NOTHING'],
  ]);
  assert.match(
    result.warnings.find((w) => w.suite === 'good')!.message,
    /"linux-image-6\.1\.0-5\[56\]-amd64" matches no package in good/,
  );
  assert.ok(result.suites.every((s) => s.insecure === false && s.allowExpired === false));
  // The same warnings on the mirror; the failed suite's reason on the suite, and a summary on the mirror.
  const m = await getMirror(h.database.db, id);
  assert.deepEqual(m?.lastScanWarnings, result.warnings);
  assert.match(m?.lastScanError ?? '', /^frozen: MIRROR_STALE: Release expired/);
  const states = Object.fromEntries((await listSuiteStates(h.database.db, id)).map((s) => [s.suite, s]));
  assert.match(states.frozen?.lastError ?? '', /^MIRROR_STALE: /);
  assert.equal(states.frozen?.state, null, 'no state from a refused Release');
  assert.equal(states.good?.lastError, null);
  // Subscribers hear of the suite that failed while the others went on.
  const events = await scanFailedEvents();
  assert.equal(events.length, 1);
  assert.equal(events[0]!.data.partial, true);
  assert.equal(events[0]!.data.willRetry, false);
  assert.deepEqual(
    (events[0]!.data.failedSuites as Array<{ suite: string; code: string }>).map((f) => [f.suite, f.code]),
    [['frozen', 'MIRROR_STALE']],
  );
  // The package found was ingested although a suite failed.
  const ingests = await h.queue.list({ names: ['ingest-package'], limit: 10 });
  assert.deepEqual(
    ingests.map((j) => j.state),
    ['completed'],
  );

  // Opting in: the expired suite scans, and says it was expired.
  await updateMirror(h.database.db, id, { allowExpired: true });
  mirror.clearFaults();
  const second = await h.scan(id);
  assert.equal(second?.state, 'completed');
  const r2 = second?.result as typeof result;
  assert.deepEqual(r2.failedSuites, []);
  assert.ok(r2.warnings.some((w) => w.suite === 'frozen' && w.code === 'RELEASE_EXPIRED'));
  assert.ok(
    !r2.warnings.some((w) => w.code === 'FILE_LIST_UNAVAILABLE'),
    'synced is read with its Contents again',
  );
  assert.ok(r2.suites.every((s) => s.allowExpired === true));
  const after2 = await getMirror(h.database.db, id);
  assert.equal(after2?.lastScanError, null);
  assert.equal((await listSuiteStates(h.database.db, id)).find((s) => s.suite === 'frozen')?.lastError, null);
  assert.equal((await scanFailedEvents()).length, 1, 'a scan where every suite worked sends no scan.failed');
});

test('every suite failing fails the job, permanent when no cause can pass by itself', async () => {
  const { id } = await createMirror(h.database.db, {
    kind: 'apt',
    url: mirror.aptUrl.replace(/\/+$/, ''),
    distro: 'debian',
    suites: ['frozen'],
    components: ['main'],
    arch: 'amd64',
    keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
  });
  const scan = await h.scan(id);
  assert.equal(scan?.state, 'failed');
  assert.equal(scan?.attempts, 1, 'an expired Release is not retried');
  assert.match(scan?.error ?? '', /Release expired .*allowExpired/);
  assert.match((await getMirror(h.database.db, id))?.lastScanError ?? '', /Release expired/);
});
