// scan-mirror and ingest-package against a loopback mirror that misbehaves: what the database holds after
// each fault, how the queue and later scans retry, and what is never retried.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listSuiteStates, packages, queryRows, type DatabaseHandle } from '@btfwatch/db';
import { sql } from 'drizzle-orm';
import { RELEASES, btfFixture, moduleElf } from '../../support/fixtures.ts';
import { buildDeb, startMirror, tamperInRelease } from '../../support/mirror-server/index.ts';
import { tempDir } from '../../support/services.ts';
import { SUITE, startWorkerHarness } from '../../support/worker-harness.ts';

const REL = RELEASES.bookworm56;
let work: ReturnType<typeof tempDir>;
let headersDeb: string;
let ootDeb: string;
let brokenDeb: string;

before(async () => {
  work = tempDir();
  headersDeb = await buildDeb(
    {
      name: `linux-headers-${REL}`,
      version: '6.1.192-2',
      files: { [`usr/src/linux-headers-${REL}/Module.symvers`]: btfFixture(`${REL}/Module.symvers.xz`) },
    },
    work.path,
  );
  ootDeb = await buildDeb(
    {
      name: `dummy-modules-${REL}`,
      version: '1.0-1',
      depends: `linux-image-${REL}-unsigned`,
      files: { [`lib/modules/${REL}/updates/dkms/dummy.ko`]: moduleElf(REL, 'dummy.ko') },
    },
    work.path,
  );
  brokenDeb = await buildDeb(
    {
      name: `broken-modules-${REL}`,
      version: '1.0-1',
      files: {
        [`lib/modules/${REL}/updates/broken.ko`]: Buffer.from('not an ELF file, only text '.repeat(40)),
      },
    },
    work.path,
  );
});

after(() => work?.remove());

async function counts(database: DatabaseHandle) {
  const [row] = await queryRows<Record<string, number>>(
    database.db,
    sql`select (select count(*)::int from kernel_builds) as kernels,
               (select count(*)::int from kernel_packages) as links,
               (select count(*)::int from module_builds) as modules,
               (select count(*)::int from blobs) as blobs,
               (select count(*)::int from packages where status = 'ingested') as ingested`,
  );
  return row!;
}

const poolPath = (deb: string) => `/debian/pool/*/${deb.split('/').at(-1)}`;

test('transient download faults store nothing; the queue retries; a later scan retries what ran out of retries', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [headersDeb, ootDeb] } } } });
  const h = await startWorkerHarness();
  try {
    const mirrorId = await h.addMirror(mirror);
    // Every package download comes back with one byte flipped: a checksum mismatch, which the queue
    // retries (a mirror caught mid-sync) until its attempts run out.
    mirror.setFault('/debian/pool/*', { kind: 'corrupt' });
    const scan = await h.scan(mirrorId);
    assert.equal(scan?.state, 'completed', scan?.error ?? '');
    assert.equal(scan?.result?.ingestsQueued, 2);
    const failed = await h.queue.list({ names: ['ingest-package'] });
    assert.equal(failed.length, 2);
    for (const job of failed) {
      assert.equal(job.state, 'failed', job.id);
      assert.equal(job.attempts, 5, 'retried with backoff until the attempts ran out');
      assert.match(job.error ?? '', /sha256/i);
    }
    assert.deepEqual(await counts(h.database), { kernels: 0, links: 0, modules: 0, blobs: 0, ingested: 0 });
    const rows = await h.database.db.select().from(packages);
    assert.equal(rows.length, 2);
    for (const p of rows) {
      assert.equal(p.status, 'pending', 'a transient failure is not a verdict on the package');
      assert.equal(p.errorCode, 'MIRROR_CHECKSUM');
    }

    // The mirror recovers except for one connection reset mid-body, which the download retries itself.
    mirror.clearFaults();
    mirror.setFault(poolPath(headersDeb), { kind: 'reset', afterBytes: 4096, times: 1 });
    const rescan = await h.scan(mirrorId);
    assert.equal(rescan?.result?.ingestsRetried, 2, 'the failed ingests start a new generation');
    assert.equal(rescan?.result?.ingestsQueued, 2);
    const jobs = await h.queue.list({ names: ['ingest-package'] });
    const retried = jobs.filter((j) => j.id.endsWith('.g1'));
    assert.equal(retried.length, 2);
    for (const job of retried) {
      assert.equal(job.state, 'completed', `${job.id}: ${job.error}`);
      assert.equal(job.attempts, 1);
    }
    assert.equal(jobs.filter((j) => j.state === 'failed').length, 2, 'the old generation stays failed');
    assert.ok(
      mirror.requests.some((r) => r.fault === 'reset'),
      'the reset happened and the download went on',
    );
    const stored = await counts(h.database);
    assert.equal(stored.ingested, 2);
    assert.equal(stored.kernels, 1, 'the headers package makes the kernel build');
    assert.equal(stored.modules, 1, 'the module package adds its module');
    for (const p of await h.database.db.select().from(packages)) {
      assert.equal(p.status, 'ingested');
      assert.equal(p.errorCode, null);
    }

    const quiet = await h.scan(mirrorId);
    assert.equal(quiet?.result?.ingestsQueued, 0, 'nothing left to ingest');
  } finally {
    await h.close();
    await mirror.close();
  }
});

test('a malformed package fails for good with its reason and is not downloaded again', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [brokenDeb] } } } });
  const h = await startWorkerHarness();
  try {
    const mirrorId = await h.addMirror(mirror);
    await h.scan(mirrorId);
    const [job] = await h.queue.list({ names: ['ingest-package'] });
    assert.equal(job?.state, 'failed');
    assert.equal(job?.attempts, 1, 'no retry for malformed input');
    const [row] = await h.database.db.select().from(packages);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.errorCode, 'PKG_BAD_MAGIC', 'the reason, by its stable code');
    assert.ok(row?.errorMessage, 'and in words');
    assert.match(job?.error ?? '', new RegExp(`^broken-modules-${REL} 1.0-1: `));
    assert.deepEqual(await counts(h.database), { kernels: 0, links: 0, modules: 0, blobs: 0, ingested: 0 });

    // The suite changes (a new package) and is scanned twice more: the broken one is left alone.
    await mirror.update({ apt: { suites: { [SUITE]: { packages: [brokenDeb, headersDeb] } } } });
    await h.scan(mirrorId);
    await h.scan(mirrorId);
    const downloads = mirror.requests.filter((r) => r.path.endsWith(brokenDeb.split('/').at(-1)!));
    assert.equal(downloads.length, 1, 'downloaded once');
    assert.equal((await h.queue.list({ names: ['ingest-package'] })).length, 2);
    assert.equal((await counts(h.database)).ingested, 1);
  } finally {
    await h.close();
    await mirror.close();
  }
});

test('a bad signature leaves the suite state and the packages as they were', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [headersDeb] } } } });
  const h = await startWorkerHarness();
  try {
    const mirrorId = await h.addMirror(mirror);
    await h.scan(mirrorId);
    const stateBefore = await listSuiteStates(h.database.db, mirrorId);
    const before = await counts(h.database);
    assert.equal(before.ingested, 1);

    // The mirror gains a package, but what it serves as InRelease has its signed text changed.
    await mirror.update({ apt: { suites: { [SUITE]: { packages: [headersDeb, ootDeb] } } } });
    tamperInRelease(mirror, SUITE);
    const scan = await h.scan(mirrorId);
    assert.equal(scan?.state, 'failed');
    assert.equal(scan?.attempts, 1, 'a bad signature is not retried');
    // What the last good scan saw stays; the suite keeps why this one failed.
    const stateAfter = await listSuiteStates(h.database.db, mirrorId);
    assert.deepEqual(
      stateAfter.map(({ lastError: _e, lastErrorAt: _at, ...rest }) => rest),
      stateBefore.map(({ lastError: _e, lastErrorAt: _at, ...rest }) => rest),
    );
    assert.match(stateAfter[0]?.lastError ?? '', /^MIRROR_SIGNATURE: /);
    assert.deepEqual(await counts(h.database), before);
    assert.equal(
      (await h.database.db.select().from(packages)).length,
      1,
      'nothing recorded from the bad index',
    );

    mirror.clearFaults();
    const good = await h.scan(mirrorId);
    assert.equal(good?.state, 'completed');
    assert.equal((await counts(h.database)).ingested, 2);
    assert.equal((await listSuiteStates(h.database.db, mirrorId))[0]?.lastError, null);
  } finally {
    await h.close();
    await mirror.close();
  }
});

test('a slow download reports the bytes received while the body streams', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [headersDeb] } } } });
  const h = await startWorkerHarness();
  try {
    const mirrorId = await h.addMirror(mirror);
    // Half the body, then a 3 s stall.
    mirror.setFault(poolPath(headersDeb), { kind: 'delay', bodyMs: 3000, times: 1 });
    const seen: number[] = [];
    let size = 0;
    const watching = (async () => {
      for (let i = 0; i < 400; i++) {
        const [job] = await h.queue.list({ names: ['ingest-package'] });
        const p = job?.progress;
        if (p?.phase === 'download' && typeof p.bytes === 'number') {
          seen.push(p.bytes);
          size = Number(p.size);
        }
        if (job?.state === 'completed' || job?.state === 'failed') return;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await h.scan(mirrorId);
    await watching;
    const partial = seen.filter((b) => b > 0 && b < size);
    assert.ok(partial.length > 0, `bytes reported mid-download: ${seen.join(', ')} of ${size}`);
    const [job] = await h.queue.list({ names: ['ingest-package'] });
    assert.equal(job?.state, 'completed');
  } finally {
    await h.close();
    await mirror.close();
  }
});

test('bytes that are no package at all but fail their checksum: the mismatch wins over the extraction error', async () => {
  const mirror = await startMirror({ apt: { suites: { [SUITE]: { packages: [headersDeb] } } } });
  const h = await startWorkerHarness();
  try {
    const mirrorId = await h.addMirror(mirror);
    // Extraction (reading the same bytes while they arrive) fails at once: not an ar archive. Only the
    // checksum says why — a mirror serving wrong bytes, retried — not a malformed package, failed for good.
    const size = readFileSync(headersDeb).length;
    mirror.setFault(poolPath(headersDeb), { kind: 'replace', body: Buffer.alloc(size, 0x41), times: 1 });
    await h.scan(mirrorId);
    const [job] = await h.queue.list({ names: ['ingest-package'] });
    assert.equal(job?.state, 'completed', job?.error ?? '');
    assert.equal(job?.attempts, 2, 'the bad bytes failed one attempt, which was retried');
    assert.ok(
      mirror.requests.some((r) => r.fault === 'replace'),
      'the wrong bytes were served once',
    );
    const [row] = await h.database.db.select().from(packages);
    assert.equal(row?.status, 'ingested');
    assert.equal((await counts(h.database)).kernels, 1);
  } finally {
    await h.close();
    await mirror.close();
  }
});
