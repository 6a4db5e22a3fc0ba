// Mirrors that speak HTTP/1.0 and close connections: the loopback tree served by `python3 -m http.server`
// (its default handler: HTTP/1.0, one connection per response), and by the node server answering without
// a Content-Length, short, or stalling. Downloads are retried or failed per file; the process never dies
// (undici 7 asserted `!this.paused` and took the process down when such a server closed a connection
// whose body was still being read: undici#5360).
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createDownloader, fetchPackages, scanApt, type Candidate, type Downloader } from '@btfwatch/mirror';
import { RELEASES } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import {
  startMirror,
  servePython,
  type MirrorHandle,
  type PythonServer,
} from '../../support/mirror-server/index.ts';
import { tempDir } from '../../support/services.ts';

const SUITE = 'bookworm-security';
const work = tempDir('bw-http10-');
let mirror: MirrorHandle;
let python: PythonServer;
let downloader: Downloader;
const dir = join(work.path, 'downloads');

before(async () => {
  const a = await buildKernelDebs({ from: RELEASES.bookworm55, version: '6.1.190-1' }, join(work.path, 'a'));
  const b = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, join(work.path, 'b'));
  mirror = await startMirror({
    apt: { suites: { [SUITE]: { packages: [a.image, a.headers, b.image, b.headers] } } },
  });
  python = await servePython(mirror.root);
  downloader = createDownloader({
    perHostConcurrency: 4,
    retries: { max: 2, baseDelayMs: 5, maxDelayMs: 20 },
    timeouts: { headersMs: 5000, bodyMs: 1500 },
  });
});

after(async () => {
  await downloader?.close();
  await python?.close();
  await mirror?.close();
  work.remove();
});

const config = (url: string) => ({ url, suite: SUITE, keyring: mirror.key.publicKeyPath });
const deps = () => ({ downloader, dir, indexRetry: { rounds: 2, delayMs: 5 } });

/** A reader slower than the network now and then, as package extraction is: the parser gets paused. */
async function slowRead(body: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (Math.random() < 0.15) await sleep(15);
  }
  return n;
}

describe('HTTP/1.0 mirrors', () => {
  test('python3 -m http.server: the suite scans, and every package downloads, read while it arrives, round after round', async () => {
    const url = `${python.url}/debian/`;
    const r = await scanApt(config(url), {}, deps());
    assert.ok(r.changed);
    assert.deepEqual(r.warnings, []);
    const images = r.packages.filter((p) => p.role === 'kernel-image');
    assert.equal(images.length, 2);
    assert.ok(
      images.every((p) => p.size > 1 << 20),
      'packages big enough for the reader to fall behind',
    );
    assert.ok(
      python.log.some((l) => l.includes('/InRelease')),
      'python served the scan',
    );
    for (let round = 0; round < 4; round++) {
      const got: Array<{ file: { path: string; sha256: string }; value: number }> = await Promise.all(
        r.packages.map((p) =>
          downloader.downloadWhileReading(p.url, { sha256: p.sha256, size: p.size }, slowRead, { dir }),
        ),
      );
      for (const [i, g] of got.entries()) {
        assert.equal(g.value, r.packages[i]!.size);
        assert.equal(g.file.sha256, r.packages[i]!.sha256);
        await rm(g.file.path);
      }
    }
    assert.equal(python.log.filter((l) => l.includes('/pool/')).length, 4 * r.packages.length);
  });

  test('no Content-Length: a complete close-delimited body is fine; a short one is a size mismatch, tried another way', async () => {
    const packagesXz = `/debian/dists/${SUITE}/main/binary-amd64/Packages.xz`;
    const byHash = `/debian/dists/${SUITE}/main/binary-amd64/by-hash/*`;
    mirror.setFault(byHash, { kind: 'status', status: 404 });
    mirror.setFault(packagesXz, { kind: 'http10' });
    mirror.clearRequests();
    try {
      const whole = await scanApt(config(mirror.aptUrl), {}, deps());
      assert.equal(whole.changed && whole.packages.length, 4);
      assert.ok(mirror.requests.some((q) => q.path === packagesXz && q.fault === 'http10'));

      const listed = (await readFile(join(mirror.root, packagesXz))).length;
      mirror.setFault(packagesXz, { kind: 'http10', bytes: 100 });
      mirror.clearRequests();
      const short = await scanApt(config(mirror.aptUrl), {}, deps());
      assert.equal(
        short.changed && short.packages.length,
        4,
        'Packages.gz stood in for the short Packages.xz',
      );
      const tried = mirror.requests.filter((q) => q.path.includes('/binary-amd64/Packages'));
      assert.deepEqual(
        tried.map((q) => q.path.split('/').at(-1)),
        ['Packages.xz', 'Packages.gz'],
      );
      assert.ok(listed > 100);
    } finally {
      mirror.clearFaults();
    }
  });

  test('packages: short, stalled or reset bodies fail or are retried per file, the rest arrive', async () => {
    const r = await scanApt(config(mirror.aptUrl), {}, deps());
    assert.ok(r.changed);
    const [shortOne, stalled, reset, fine] = r.packages as [Candidate, Candidate, Candidate, Candidate];
    const pool = (c: Candidate) => `/debian/${c.path}`;
    mirror.setFault(pool(shortOne), { kind: 'http10', bytes: 1000 });
    // Stalls longer than the body timeout once, then answers.
    mirror.setFault(pool(stalled), { kind: 'delay', bodyMs: 2500, times: 1 });
    mirror.setFault(pool(reset), { kind: 'reset', afterBytes: 4096, times: 2 });
    try {
      const outcomes = await fetchPackages(r.packages, { downloader, dir: join(work.path, 'fetched') });
      const by = new Map(outcomes.map((o) => [o.candidate.name, o]));
      const s = by.get(shortOne.name);
      assert.equal(s?.status, 'failed');
      assert.equal(s?.status === 'failed' && s.error.code, 'MIRROR_SIZE');
      assert.match(
        s?.status === 'failed' ? s.error.message : '',
        new RegExp(`^listed ${shortOne.size} bytes, got 1000 for `),
      );
      for (const c of [stalled, reset, fine]) assert.equal(by.get(c.name)?.status, 'downloaded', c.name);
      const stalledTries = mirror.requests.filter((q) => q.path === pool(stalled));
      assert.equal(stalledTries.length, 2, 'the stalled download was retried once');
      assert.equal(mirror.requests.filter((q) => q.path === pool(reset)).length, 3);
    } finally {
      mirror.clearFaults();
      await rm(join(work.path, 'fetched'), { recursive: true, force: true });
    }
  });
});
