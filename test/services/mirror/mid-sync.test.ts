// A loopback mirror caught mid-sync, as Debian's trixie was: indexes on the mirror that are not the ones
// the (signed) Release lists, with by-hash copies missing. Contents is optional and degrades the unit to
// names and Packages relations; Packages is required, tried in every listed form, retried with backoff,
// and then fails with what was listed and what came.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  MirrorError,
  MirrorIndexUnavailableError,
  createDownloader,
  scanApt,
  type AptScanResult,
  type Downloader,
} from '@btfwatch/mirror';
import { buildDeb, startMirror, type MirrorHandle } from '../../support/mirror-server/index.ts';
import { tempDir } from '../../support/services.ts';

const REL = '6.1.0-56-amd64';
const REL7 = '7.2.12+deb13-amd64';
const V7 = '7.2.12-1~bpo13+1';

const work = tempDir('bw-mid-sync-');
let mirror: MirrorHandle;
let downloader: Downloader;
const dir = join(work.path, 'downloads');

/** The Release's line for a file: its listed size. */
async function listedSize(suite: string, path: string): Promise<number> {
  const release = await readFile(join(mirror.root, `debian/dists/${suite}/Release`), 'utf8');
  const line = release.split('\n').find((l) => l.endsWith(` ${path}`) && /^ [0-9a-f]{64} /.test(l));
  assert.ok(line, `Release lists ${path}`);
  return Number(line.trim().split(/\s+/)[1]);
}

const names = (r: AptScanResult) => (r.changed ? r.packages.map((p) => p.name).sort() : []);
const scan = (suite: string, state = {}, rounds = 3) =>
  scanApt({ url: mirror.aptUrl, suite, keyring: mirror.key.publicKeyPath }, state, {
    downloader,
    dir,
    indexRetry: { rounds, delayMs: 40 },
  });

before(async () => {
  const out = join(work.path, 'debs');
  const debs = [
    await buildDeb(
      {
        name: `linux-image-${REL}`,
        version: '6.1.192-1',
        depends: 'kmod, linux-base (>= 4.3~)',
        files: { [`boot/vmlinuz-${REL}`]: 'v', [`lib/modules/${REL}/kernel/a.ko`]: 'k' },
      },
      out,
    ),
    await buildDeb(
      {
        name: `linux-image-${REL7}`,
        version: V7,
        depends: `linux-binary-${REL7} (= ${V7}), linux-modules-${REL7} (= ${V7}), linux-base-${REL7} (= ${V7})`,
        files: { [`usr/share/doc/linux-image-${REL7}/README`]: 'meta' },
      },
      out,
    ),
    await buildDeb(
      { name: `linux-binary-${REL7}`, version: V7, files: { [`usr/lib/modules/${REL7}/vmlinuz`]: 'z' } },
      out,
    ),
    await buildDeb(
      {
        name: `linux-modules-${REL7}`,
        version: V7,
        files: { [`usr/lib/modules/${REL7}/kernel/drivers/x.ko.xz`]: 'x' },
      },
      out,
    ),
    await buildDeb(
      { name: `linux-base-${REL7}`, version: V7, files: { [`usr/lib/modules/${REL7}/config`]: 'c' } },
      out,
    ),
    await buildDeb({ name: 'hello', version: '1', files: { 'usr/bin/hello': 'hi' } }, out),
    await buildDeb(
      { name: 'acme-dkms', version: '1', arch: 'all', files: { 'usr/src/acme-1/dkms.conf': 'x' } },
      out,
    ),
  ];
  // As Debian's trixie: arch:all packages only in binary-all.
  mirror = await startMirror({ apt: { suites: { trixie: { packages: debs, archAllSeparate: true } } } });
  downloader = createDownloader({ retries: { max: 1, baseDelayMs: 5, maxDelayMs: 10 } });
});

after(async () => {
  await downloader?.close();
  await mirror?.close();
  work.remove();
});

const CONTENTS_SELECTED = [
  `linux-base-${REL7}`,
  `linux-binary-${REL7}`,
  `linux-image-${REL}`,
  `linux-modules-${REL7}`,
];

describe('mid-sync mirror (loopback)', () => {
  test('Contents of another size, by-hash missing: the unit is read by names and relations, with a warning saying what came', async () => {
    const listed = await listedSize('trixie', 'main/Contents-amd64.gz');
    // Another sync's Contents: valid gzip, a little smaller than the one listed.
    const other = gzipSync(Buffer.from(`usr/bin/hello devel/hello\n`));
    mirror.setFault('/debian/dists/trixie/main/by-hash/SHA256/*', { kind: 'status', status: 404 });
    mirror.setFault('/debian/dists/trixie/main/Contents-amd64.gz', { kind: 'replace', body: other });
    mirror.clearRequests();
    try {
      const r = await scan('trixie');
      assert.ok(r.changed);
      // The meta package (it only depends on the split packages) is left out; the split ones come by name.
      assert.deepEqual(names(r), CONTENTS_SELECTED);
      assert.equal(r.units[0]?.selection, 'name');
      assert.deepEqual(
        r.warnings.map((w) => w.code),
        ['FILE_LIST_UNAVAILABLE'],
      );
      const message = r.warnings[0]?.message ?? '';
      assert.match(message, new RegExp(`listed ${listed} bytes, got ${other.length}`));
      assert.match(message, /selected by name and by Packages' Depends\/Provides/);
      // Retried: three passes over by-hash and the named file.
      const contentsHash = (await readFile(join(mirror.root, 'debian/dists/trixie/Release'), 'utf8'))
        .split('\n')
        .find((l) => /^ [0-9a-f]{64} .* main\/Contents-amd64\.gz$/.test(l))
        ?.trim()
        .split(/\s+/)[0];
      const contents = mirror.requests.filter(
        (q) =>
          q.path.endsWith(`/main/by-hash/SHA256/${contentsHash}`) || q.path.endsWith('Contents-amd64.gz'),
      );
      assert.equal(contents.length, 3 * 2);
      assert.deepEqual(await readdir(dir).catch(() => []), [], 'no index file left behind');

      // The next scan does not take the suite as handled: it reads the unit again, and once the mirror
      // has settled, Contents decides again.
      mirror.clearFaults();
      const again = await scan('trixie', r.state);
      assert.ok(again.changed, 'the Release was taken as handled although Contents was missing');
      assert.equal(again.units[0]?.selection, 'contents');
      assert.deepEqual(again.warnings, []);
      assert.deepEqual(names(again), CONTENTS_SELECTED);
      const settled = await scan('trixie', again.state);
      assert.equal(settled.changed, false);
    } finally {
      mirror.clearFaults();
    }
  });

  test('Packages.xz of another size and no by-hash: the next listed compression is used', async () => {
    mirror.setFault('/debian/dists/trixie/main/binary-amd64/by-hash/SHA256/*', {
      kind: 'status',
      status: 404,
    });
    mirror.setFault('/debian/dists/trixie/main/binary-amd64/Packages.xz', {
      kind: 'replace',
      body: Buffer.from('not the listed file'),
    });
    mirror.clearRequests();
    try {
      const r = await scan('trixie');
      assert.deepEqual(names(r), CONTENTS_SELECTED);
      assert.deepEqual(r.warnings, []);
      const tried = mirror.requests
        .filter((q) => q.path.includes('/binary-amd64/'))
        .map((q) => [q.path.split('/').at(-1), q.status]);
      assert.equal(tried.at(-1)?.[0], 'Packages.gz');
      assert.equal(tried.at(-1)?.[1], 200);
    } finally {
      mirror.clearFaults();
    }
  });

  test('a mismatch that settles between passes: the second pass gets the listed file', async () => {
    mirror.setFault('/debian/dists/trixie/main/binary-amd64/*', { kind: 'corrupt', times: 4 });
    mirror.clearRequests();
    try {
      const started = Date.now();
      const r = await scan('trixie');
      assert.deepEqual(names(r), CONTENTS_SELECTED);
      const statuses = mirror.requests
        .filter((q) => q.path.includes('/binary-amd64/'))
        .map((q) => q.fault ?? 'ok');
      assert.deepEqual(statuses, ['corrupt', 'corrupt', 'corrupt', 'corrupt', 'ok']);
      assert.ok(Date.now() - started >= 40, 'the second pass came after a pause');
    } finally {
      mirror.clearFaults();
    }
  });

  test('Packages that cannot be had as listed fails the suite: listed size and what came, every form tried, with backoff', async () => {
    const xz = await listedSize('trixie', 'main/binary-amd64/Packages.xz');
    const short = Buffer.from('Package: hello\n');
    mirror.setFault('/debian/dists/trixie/main/binary-amd64/*', { kind: 'replace', body: short });
    mirror.clearRequests();
    try {
      const started = Date.now();
      const err = await scan('trixie').then(
        () => assert.fail('a suite whose Packages cannot be had scanned'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof MirrorIndexUnavailableError, String(err));
      assert.equal(err.code, 'MIRROR_INDEX_UNAVAILABLE');
      assert.equal(err.transient, true);
      assert.equal(err.index, 'main/binary-amd64/Packages');
      assert.match(err.message, new RegExp(`listed ${xz} bytes, got ${short.length}`));
      assert.doesNotMatch(err.message, /exceeds/);
      // 3 passes × (xz, gz) × (by-hash, by name), paused 40 then 80 ms.
      assert.equal(err.attempts.length, 12);
      assert.ok(err.attempts.every((a) => a.code === 'MIRROR_SIZE'));
      assert.ok(Date.now() - started >= 120);
      assert.ok(err instanceof MirrorError);
    } finally {
      mirror.clearFaults();
    }
  });

  test('binary-all Packages of another size: the suite is scanned without its arch:all packages, and says so', async () => {
    const listed = await listedSize('trixie', 'main/binary-all/Packages.xz');
    mirror.setFault('/debian/dists/trixie/main/binary-all/*', { kind: 'replace', body: Buffer.from('x') });
    try {
      const r = await scan('trixie');
      assert.ok(r.changed);
      assert.deepEqual(names(r), CONTENTS_SELECTED);
      assert.deepEqual(
        r.warnings.map((w) => w.code),
        ['INDEX_UNAVAILABLE'],
      );
      assert.match(
        r.warnings[0]!.message,
        new RegExp(`^main/all: .*listed ${listed} bytes, got 1 .*left out`),
      );
      // Without the fault it is read, and the dkms package (arch:all, nothing to ingest) is not selected.
      mirror.clearFaults();
      const again = await scan('trixie', r.state);
      assert.ok(again.changed);
      assert.deepEqual(
        again.units.map((u) => u.arch),
        ['amd64', 'all'],
      );
      assert.deepEqual(again.warnings, []);
    } finally {
      mirror.clearFaults();
    }
  });

  test('a body shorter than listed is reported as such, never as "exceeds"', async () => {
    const listed = await listedSize('trixie', 'main/binary-amd64/Packages.gz');
    const bytes = await readFile(join(mirror.root, 'debian/dists/trixie/main/binary-amd64/Packages.gz'));
    mirror.setFault('/debian/dists/trixie/main/binary-amd64/*', {
      kind: 'replace',
      body: bytes.subarray(0, 10),
    });
    try {
      const err = await scan('trixie', {}, 1).then(
        () => assert.fail('resolved'),
        (e: unknown) => e as MirrorIndexUnavailableError,
      );
      const gz = err.attempts.find((a) => a.url.endsWith('/Packages.gz'));
      assert.match(gz?.message ?? '', new RegExp(`^listed ${listed} bytes, got 10 for `));
    } finally {
      mirror.clearFaults();
    }
  });
});
