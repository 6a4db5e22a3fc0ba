// Scans a signed loopback apt archive built at test time (dpkg-deb packages, our own apt metadata, gpg).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  createDownloader,
  fetchPackages,
  MirrorError,
  scanApt,
  type AptMirrorConfig,
  type AptScanResult,
  type Downloader,
} from '@btfwatch/mirror';
import {
  buildDeb,
  createSigningKey,
  startMirror,
  type DebSpec,
  type MirrorHandle,
  type SigningKey,
} from '../../support/mirror-server/index.ts';

const REL = '6.1.0-99-amd64';
const REL7 = '7.0.0-1-amd64';

async function buildKernelDebs(dir: string): Promise<Record<string, string>> {
  const specs: DebSpec[] = [
    {
      name: `linux-image-${REL}`,
      version: '6.1.999-1',
      source: 'linux-signed-amd64 (6.1.999+1)',
      depends: 'kmod, linux-base (>= 4.3~)',
      files: {
        [`boot/vmlinuz-${REL}`]: 'vmlinuz',
        [`boot/config-${REL}`]: 'CONFIG_X=y\n',
        [`lib/modules/${REL}/kernel/fs/foo.ko`]: 'ko',
      },
    },
    {
      name: `linux-image-${REL}-dbg`,
      version: '6.1.999-1',
      source: 'linux',
      files: { [`usr/lib/debug/lib/modules/${REL}/kernel/fs/foo.ko`]: 'debug' },
    },
    {
      name: `linux-headers-${REL}`,
      version: '6.1.999-1',
      source: 'linux',
      files: { [`usr/src/linux-headers-${REL}/Module.symvers`]: '0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n' },
    },
    {
      name: `linux-binary-${REL7}`,
      version: '7.0.1-1',
      source: 'linux-signed-amd64 (7.0.1+1)',
      files: { [`usr/lib/modules/${REL7}/vmlinuz`]: 'z' },
    },
    {
      name: `linux-modules-${REL7}`,
      version: '7.0.1-1',
      source: 'linux',
      provides: 'wireguard-modules (= 1.0.0)',
      files: { [`usr/lib/modules/${REL7}/kernel/drivers/x.ko.xz`]: 'x' },
    },
    {
      name: `linux-base-${REL7}`,
      version: '7.0.1-1',
      source: 'linux',
      files: { [`usr/lib/modules/${REL7}/config`]: 'c', [`usr/lib/modules/${REL7}/System.map`]: 'm' },
    },
    {
      name: `acme-modules-${REL}`,
      version: '1.0-1',
      depends: `linux-image-${REL}`,
      files: { [`lib/modules/${REL}/updates/acme.ko`]: 'acme' },
    },
    { name: 'hello', version: '2.10-3', section: 'devel', files: { 'usr/bin/hello': 'hi' } },
    {
      name: 'linux-image-amd64',
      version: '6.1.999-1',
      source: 'linux-signed-amd64 (6.1.999+1)',
      depends: `linux-image-${REL}`,
      files: { 'usr/share/doc/linux-image-amd64/README': 'meta' },
    },
    {
      name: 'acme-dkms',
      version: '1.0-1',
      arch: 'all',
      files: { 'usr/src/acme-1.0/dkms.conf': 'PACKAGE_NAME=acme' },
    },
  ];
  const out: Record<string, string> = {};
  for (const s of specs) out[s.name] = await buildDeb(s, dir);
  return out;
}

const CONTENTS_SELECTED = [
  `acme-modules-${REL}`,
  `linux-base-${REL7}`,
  `linux-binary-${REL7}`,
  `linux-headers-${REL}`,
  `linux-image-${REL}`,
  `linux-modules-${REL7}`,
];
// By name and relations, the same as by Contents: linux-image-amd64 only depends on an image (a meta
// package), and a dkms package holds sources, no module.
const NAME_SELECTED = CONTENTS_SELECTED;

function names(r: AptScanResult): string[] {
  assert.equal(r.changed, true);
  return r.changed ? r.packages.map((p) => p.name).sort() : [];
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<MirrorError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MirrorError, `expected a MirrorError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('apt mirror scan (loopback, gpg-signed)', () => {
  let work: string;
  let debs: Record<string, string>;
  let mirror: MirrorHandle;
  let downloader: Downloader;
  let stranger: SigningKey;
  let dir: string;

  const config = (suite: string, extra: Partial<AptMirrorConfig> = {}): AptMirrorConfig => ({
    url: mirror.aptUrl,
    suite,
    keyring: mirror.key.publicKeyPath,
    ...extra,
  });
  const deps = () => ({ downloader, dir, indexRetry: { rounds: 2, delayMs: 5 } });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bw-apt-test-'));
    dir = join(work, 'downloads');
    debs = await buildKernelDebs(join(work, 'debs'));
    const all = Object.values(debs);
    const hello = await buildDeb(
      {
        name: 'hello',
        version: '2.10-3',
        section: 'devel',
        depends: 'libc6 (>= 2.34)',
        files: { 'usr/bin/hello': 'hi' },
      },
      join(work, 'debs'),
    );
    mirror = await startMirror({
      apt: {
        suites: {
          stable: { packages: all },
          nocontents: { packages: all, contents: false },
          emptycontents: { packages: all, emptyContents: true },
          unsigned: { packages: all, signed: false },
          detached: { packages: all, inRelease: false },
          expired: { packages: all, validUntil: new Date(Date.now() - 86400_000) },
          plain: { packages: all, acquireByHash: false, packagesCompression: ['none'] },
          // dak's security archive: Components says updates/main, files live under main/.
          security: { packages: all, component: 'main' },
          nokernel: { packages: [hello] },
          nokernelnocontents: { packages: [hello], contents: false },
        },
      },
    });
    stranger = await createSigningKey('someone else <else@btfwatch.invalid>');
    downloader = createDownloader({
      perHostConcurrency: 3,
      retries: { max: 2, baseDelayMs: 5, maxDelayMs: 20 },
      timeouts: { headersMs: 3000, bodyMs: 3000 },
    });
  });

  after(async () => {
    await downloader?.close();
    await mirror?.close();
    await stranger?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  test('finds the kernel packages of a signed suite through Contents and by-hash indexes', async () => {
    mirror.clearRequests();
    const r = await scanApt(config('stable'), {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.ok(r.changed);
    assert.equal(r.insecure, false);
    assert.equal(r.signature.verified, true);
    assert.equal(r.signature.source, 'InRelease');
    assert.deepEqual(
      r.signature.signers.map((s) => s.fingerprint),
      [mirror.key.fingerprint],
    );
    assert.equal(r.release.codename, 'stable');
    assert.equal(r.release.acquireByHash, true);
    assert.deepEqual(r.warnings, []);
    const roles = Object.fromEntries(r.packages.map((p) => [p.name, p.role]));
    assert.deepEqual(roles, {
      [`linux-image-${REL}`]: 'kernel-image',
      [`linux-headers-${REL}`]: 'kernel-headers',
      [`linux-binary-${REL7}`]: 'kernel-image',
      [`linux-modules-${REL7}`]: 'kernel-modules',
      [`linux-base-${REL7}`]: 'kernel-base',
      [`acme-modules-${REL}`]: 'out-of-tree-modules',
    });
    const image = r.packages.find((p) => p.name === `linux-image-${REL}`);
    assert.ok(image);
    assert.equal(image.version, '6.1.999-1');
    assert.equal(image.arch, 'amd64');
    assert.deepEqual(image.source, { name: 'linux-signed-amd64', version: '6.1.999+1' });
    assert.deepEqual(image.depends, ['kmod', 'linux-base (>= 4.3~)']);
    assert.deepEqual(image.releases, [REL]);
    assert.equal(image.evidence, 'contents');
    assert.equal(image.known, false);
    assert.equal(image.url, `${mirror.aptUrl}${image.path}`);
    const bytes = await readFile(debs[image.name] as string);
    assert.equal(image.size, bytes.length);
    assert.match(image.sha256, /^[0-9a-f]{64}$/);
    const modules = r.packages.find((p) => p.name === `linux-modules-${REL7}`);
    assert.deepEqual(modules?.provides, ['wireguard-modules (= 1.0.0)']);
    // Indexes came through by-hash, and nothing under pool/ was fetched by a scan.
    const paths = mirror.requests.map((q) => q.path);
    assert.ok(
      paths.some((p) => p.includes('/main/binary-amd64/by-hash/SHA256/')),
      paths.join('\n'),
    );
    assert.ok(
      paths.some((p) => p.includes('/main/by-hash/SHA256/')),
      paths.join('\n'),
    );
    assert.ok(!paths.some((p) => p.includes('/pool/')));
    assert.deepEqual(await readdir(dir).catch(() => []), [], 'index files are removed after parsing');
  });

  test('an unchanged InRelease costs exactly one conditional request (304)', async () => {
    const first = await scanApt(config('stable'), {}, deps());
    mirror.clearRequests();
    const second = await scanApt(config('stable'), first.state, deps());
    assert.equal(second.changed, false);
    assert.equal(!second.changed && second.reason, 'not-modified');
    assert.equal(mirror.requests.length, 1);
    assert.equal(mirror.requests[0]?.path, '/debian/dists/stable/InRelease');
    assert.equal(mirror.requests[0]?.status, 304);
    assert.ok(mirror.requests[0]?.ifNoneMatch);
    assert.deepEqual(second.state, first.state);
  });

  test('a server without conditional GET: same InRelease hash still stops after one request', async () => {
    const first = await scanApt(config('stable'), {}, deps());
    mirror.setFault('/debian/dists/stable/InRelease', { kind: 'no-conditional' });
    mirror.clearRequests();
    try {
      const second = await scanApt(config('stable'), first.state, deps());
      assert.equal(!second.changed && second.reason, 'same-hash');
      assert.equal(mirror.requests.length, 1);
      assert.equal(mirror.requests[0]?.status, 200);
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
    }
  });

  test('state from a different config is ignored', async () => {
    const first = await scanApt(config('stable'), {}, deps());
    const narrowed = await scanApt(config('stable', { match: 'linux-image-*' }), first.state, deps());
    assert.deepEqual(names(narrowed), [`linux-image-${REL}`]);
  });

  test('match globs narrow the candidates', async () => {
    const r = await scanApt(config('stable', { match: ['linux-*-7.0.0-*', 'acme-*'] }), {}, deps());
    assert.deepEqual(names(r), [
      `acme-modules-${REL}`,
      `linux-base-${REL7}`,
      `linux-binary-${REL7}`,
      `linux-modules-${REL7}`,
    ]);
  });

  test('known sha256s are listed as known and never downloaded; the rest arrive verified', async () => {
    const r = await scanApt(config('stable'), {}, deps());
    assert.ok(r.changed);
    const image = r.packages.find((p) => p.name === `linux-image-${REL}`);
    assert.ok(image);
    const again = await scanApt(config('stable'), { knownSha256: [image.sha256] }, deps());
    assert.ok(again.changed);
    assert.deepEqual(
      again.packages.filter((p) => p.known).map((p) => p.name),
      [image.name],
    );
    mirror.clearRequests();
    const fetchDir = join(work, 'fetched');
    const outcomes = await fetchPackages(again.packages, { downloader, dir: fetchDir });
    assert.deepEqual(
      outcomes.map((o) => [o.candidate.name, o.status]).sort(),
      CONTENTS_SELECTED.map((n) => [n, n === image.name ? 'known' : 'downloaded']),
    );
    const poolPaths = mirror.requests.map((q) => q.path).filter((p) => p.includes('/pool/'));
    assert.equal(poolPaths.length, CONTENTS_SELECTED.length - 1);
    assert.ok(!poolPaths.some((p) => p.endsWith(image.path)), 'the known package was requested');
    for (const o of outcomes) {
      if (o.status !== 'downloaded' || !o.file) continue;
      assert.deepEqual(await readFile(o.file.path), await readFile(debs[o.candidate.name] as string));
    }
    await rm(fetchDir, { recursive: true, force: true });
  });

  test('no Contents: name heuristics, said in the warnings', async () => {
    const r = await scanApt(config('nocontents'), {}, deps());
    assert.deepEqual(names(r), NAME_SELECTED);
    assert.ok(r.changed);
    assert.equal(r.units[0]?.selection, 'name');
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['FILE_LIST_MISSING'],
    );
    assert.match(r.warnings[0]?.message ?? '', /main\/amd64: no Contents index; packages selected by name/);
    assert.ok(r.packages.every((p) => p.evidence === 'name'));
    assert.equal(r.packages.find((p) => p.name === `acme-modules-${REL}`)?.role, 'out-of-tree-modules');
  });

  test('a suite with packages but no kernel package says so (NO_KERNEL_PACKAGE), with or without Contents', async () => {
    for (const suite of ['nokernel', 'nokernelnocontents']) {
      const r = await scanApt(config(suite), {}, deps());
      assert.ok(r.changed);
      assert.deepEqual(r.packages, []);
      const codes = r.warnings.map((w) => w.code);
      assert.deepEqual(
        codes,
        suite === 'nokernel' ? ['NO_KERNEL_PACKAGE'] : ['FILE_LIST_MISSING', 'NO_KERNEL_PACKAGE'],
      );
      assert.match(
        r.warnings.at(-1)?.message ?? '',
        /1 package\(s\) listed, none recognised as a kernel package/,
      );
    }
    // A suite that finds kernel packages has no such warning.
    const stable = await scanApt(config('stable'), {}, deps());
    assert.ok(!stable.warnings.some((w) => w.code === 'NO_KERNEL_PACKAGE'));
  });

  test('an empty Contents (as on security mirrors) falls back to names too', async () => {
    const r = await scanApt(config('emptycontents'), {}, deps());
    assert.deepEqual(names(r), NAME_SELECTED);
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['FILE_LIST_EMPTY'],
    );
  });

  test('useContents: false selects by name without fetching Contents', async () => {
    mirror.clearRequests();
    const r = await scanApt(config('stable', { useContents: false }), {}, deps());
    assert.deepEqual(names(r), NAME_SELECTED);
    assert.ok(!mirror.requests.some((q) => q.path.includes('Contents') || q.path.includes('/main/by-hash/')));
  });

  test('Release + Release.gpg when there is no InRelease', async () => {
    const r = await scanApt(config('detached'), {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.ok(r.changed);
    assert.equal(r.signature.source, 'Release.gpg');
    assert.equal(r.signature.verified, true);
    mirror.clearRequests();
    const again = await scanApt(config('detached'), r.state, deps());
    assert.equal(again.changed, false);
    assert.deepEqual(
      mirror.requests.map((q) => [q.path, q.status]),
      [
        ['/debian/dists/detached/InRelease', 404],
        ['/debian/dists/detached/Release', 304],
      ],
    );
  });

  test('plain Packages without by-hash', async () => {
    mirror.clearRequests();
    const r = await scanApt(config('plain'), {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.ok(mirror.requests.some((q) => q.path === '/debian/dists/plain/main/binary-amd64/Packages'));
    assert.ok(!mirror.requests.some((q) => q.path.includes('by-hash')));
  });

  test('a tampered InRelease is MIRROR_SIGNATURE and nothing else is requested', async () => {
    const original = await readFile(join(mirror.root, 'debian/dists/stable/InRelease'), 'utf8');
    const tampered = original.replace(/^Label: .*$/m, 'Label: evil');
    assert.notEqual(tampered, original);
    mirror.setFault('/debian/dists/stable/InRelease', { kind: 'replace', body: tampered });
    mirror.clearRequests();
    try {
      const err = await rejectsWith(scanApt(config('stable'), {}, deps()), 'MIRROR_SIGNATURE');
      assert.equal(err.transient, false);
      assert.equal(mirror.requests.length, 1);
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
    }
  });

  test('unsigned text around the signed block is refused', async () => {
    const original = await readFile(join(mirror.root, 'debian/dists/stable/InRelease'), 'utf8');
    mirror.setFault('/debian/dists/stable/InRelease', {
      kind: 'replace',
      body: `Suite: stable\nSHA256:\n ${'0'.repeat(64)} 1 main/binary-amd64/Packages\n\n${original}`,
    });
    try {
      await rejectsWith(scanApt(config('stable'), {}, deps()), 'MIRROR_SIGNATURE');
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
    }
  });

  test('a keyring without the signing key is MIRROR_SIGNATURE (InRelease and Release.gpg)', async () => {
    await rejectsWith(
      scanApt(config('stable', { keyring: stranger.publicKeyPath }), {}, deps()),
      'MIRROR_SIGNATURE',
    );
    await rejectsWith(
      scanApt(config('detached', { keyring: stranger.armoredPublicKeyPath }), {}, deps()),
      'MIRROR_SIGNATURE',
    );
  });

  test('a Release.gpg made by another key is MIRROR_SIGNATURE', async () => {
    const sigPath = join(work, 'Release.gpg');
    await stranger.detachSign(join(mirror.root, 'debian/dists/detached/Release'), sigPath);
    mirror.setFault('/debian/dists/detached/Release.gpg', { kind: 'replace', body: await readFile(sigPath) });
    try {
      await rejectsWith(scanApt(config('detached'), {}, deps()), 'MIRROR_SIGNATURE');
    } finally {
      mirror.setFault('/debian/dists/detached/Release.gpg', null);
    }
  });

  test('a validly signed Release of another suite is refused', async () => {
    const other = await readFile(join(mirror.root, 'debian/dists/plain/InRelease'));
    mirror.setFault('/debian/dists/stable/InRelease', { kind: 'replace', body: other });
    try {
      await rejectsWith(scanApt(config('stable'), {}, deps()), 'MIRROR_SIGNATURE');
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
    }
  });

  test('unsigned suite: MIRROR_SIGNATURE by default, scanned and reported with insecure: true', async () => {
    await rejectsWith(scanApt(config('unsigned'), {}, deps()), 'MIRROR_SIGNATURE');
    const r = await scanApt({ url: mirror.aptUrl, suite: 'unsigned', insecure: true }, {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.equal(r.insecure, true);
    assert.ok(r.changed);
    assert.equal(r.signature.verified, false);
    assert.equal(r.signature.insecure, true);
    assert.equal(r.signature.source, 'none');
  });

  test('an expired Valid-Until is MIRROR_STALE naming the setting; allowExpired scans it and says so', async () => {
    const err = await rejectsWith(scanApt(config('expired'), {}, deps()), 'MIRROR_STALE');
    assert.match(err.message, /expired at .*allowExpired \(CLI --allow-expired\)/);
    const r = await scanApt(config('expired', { allowExpired: true }), {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.equal(r.allowExpired, true);
    assert.deepEqual(
      r.warnings.map((w) => w.code),
      ['RELEASE_EXPIRED'],
    );
    // The opt-in is part of the config: state from the refusing config is not reused.
    assert.notEqual(r.state.configKey, (await scanApt(config('stable'), {}, deps())).state.configKey);
  });

  test('a Release older than the one already seen is MIRROR_STALE', async () => {
    const r = await scanApt(config('stable'), {}, deps());
    const state = structuredClone(r.state);
    assert.ok(state.release);
    state.release.date = new Date(Date.now() + 86400_000).toISOString();
    state.release.sha256 = '0'.repeat(64);
    state.release.etag = undefined;
    state.release.lastModified = undefined;
    await rejectsWith(scanApt(config('stable'), state, deps()), 'MIRROR_STALE');
  });

  test('Components "updates/main" served under main/ (Debian security layout) via an explicit component', async () => {
    const r = await scanApt(
      config('security', { components: ['main'], architectures: ['amd64'] }),
      {},
      deps(),
    );
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    await rejectsWith(scanApt(config('security', { components: ['contrib'] }), {}, deps()), 'MIRROR_CONFIG');
  });

  test('a Packages whose bytes do not match the Release anywhere is MIRROR_INDEX_UNAVAILABLE and leaves no files', async () => {
    mirror.setFault('/debian/dists/stable/main/binary-amd64/*', { kind: 'corrupt' });
    mirror.clearRequests();
    try {
      const err = await rejectsWith(scanApt(config('stable'), {}, deps()), 'MIRROR_INDEX_UNAVAILABLE');
      assert.equal(err.transient, true);
      assert.match(err.message, /^main\/binary-amd64\/Packages: .*sha256 [0-9a-f]{64} does not match/);
      // Every listed compression, by-hash and by name, each pass once per round (the downloader does
      // not retry a mismatch itself).
      const tried = mirror.requests.filter((q) => q.path.includes('/binary-amd64/')).map((q) => q.path);
      assert.equal(tried.length, 2 * 4, tried.join('\n'));
      assert.ok(tried.some((p) => p.endsWith('/Packages.gz')));
      assert.ok(tried.some((p) => p.includes('/by-hash/SHA256/')));
      assert.deepEqual(await readdir(dir).catch(() => []), []);
    } finally {
      mirror.setFault('/debian/dists/stable/main/binary-amd64/*', null);
    }
  });

  test('a signed Contents past maxIndexBytes degrades to names; a Packages past it is MIRROR_INDEX_TOO_LARGE; no files left', async () => {
    // 64 MiB of well-formed lines in ~100 KB of gzip, listed with its true hash in a re-signed Release.
    const bomb = gzipSync(Buffer.from('usr/bin/hello                  devel/hello\n'.repeat(1_525_000)), {
      level: 9,
    });
    const releasePath = join(mirror.root, 'debian/dists/stable/Release');
    const release = (await readFile(releasePath, 'utf8')).replace(
      /^ [0-9a-f]{64} +\d+ main\/Contents-amd64\.gz$/m,
      ` ${createHash('sha256').update(bomb).digest('hex')} ${bomb.length} main/Contents-amd64.gz`,
    );
    assert.ok(release.includes(String(bomb.length)), 'Release lists the bomb');
    await writeFile(join(work, 'Release'), release);
    await mirror.key.clearsign(join(work, 'Release'), join(work, 'InRelease'));
    mirror.setFault('/debian/dists/stable/InRelease', {
      kind: 'replace',
      body: await readFile(join(work, 'InRelease')),
    });
    mirror.setFault('/debian/dists/stable/main/Contents-amd64.gz', { kind: 'replace', body: bomb });
    try {
      // Contents is optional: too large for the limit, the unit is read by names instead, and says why.
      const degraded = await scanApt(config('stable'), {}, { ...deps(), maxIndexBytes: 16 * 1024 * 1024 });
      assert.deepEqual(names(degraded), NAME_SELECTED);
      assert.deepEqual(
        degraded.warnings.map((w) => w.code),
        ['FILE_LIST_UNAVAILABLE'],
      );
      assert.match(degraded.warnings[0]?.message ?? '', /MIRROR_INDEX_TOO_LARGE|maxIndexBytes/);
      assert.deepEqual(await readdir(dir).catch(() => []), []);
      // The same signed bytes within a limit that fits them: scanned, nothing selected from them.
      const r = await scanApt(config('stable'), {}, { ...deps(), maxIndexBytes: 128 * 1024 * 1024 });
      assert.deepEqual(names(r), []);
      // A Packages past the limit is no help to skip: the suite fails.
      await rejectsWith(
        scanApt(config('stable'), {}, { ...deps(), maxIndexBytes: 64 }),
        'MIRROR_INDEX_TOO_LARGE',
      );
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
      mirror.setFault('/debian/dists/stable/main/Contents-amd64.gz', null);
    }
  });

  test('transient 503s on InRelease are retried; persistent ones surface as transient MIRROR_HTTP', async () => {
    mirror.setFault('/debian/dists/stable/InRelease', { kind: 'status', status: 503, times: 2 });
    mirror.clearRequests();
    const r = await scanApt(config('stable'), {}, deps());
    assert.deepEqual(names(r), CONTENTS_SELECTED);
    assert.deepEqual(
      mirror.requests.filter((q) => q.path.endsWith('/InRelease')).map((q) => q.status),
      [503, 503, 200],
    );
    mirror.setFault('/debian/dists/stable/InRelease', { kind: 'status', status: 503 });
    try {
      const err = await rejectsWith(scanApt(config('stable'), {}, deps()), 'MIRROR_HTTP');
      assert.equal(err.transient, true);
    } finally {
      mirror.setFault('/debian/dists/stable/InRelease', null);
    }
  });

  test('a missing suite is MIRROR_NOT_FOUND; a keyring that cannot be read is MIRROR_CONFIG before any request', async () => {
    await rejectsWith(scanApt(config('nosuchsuite'), {}, deps()), 'MIRROR_NOT_FOUND');
    mirror.clearRequests();
    await rejectsWith(
      scanApt(config('stable', { keyring: join(work, 'missing.gpg') }), {}, deps()),
      'MIRROR_CONFIG',
    );
    assert.equal(mirror.requests.length, 0);
  });
});

describe('apt mirror scan: updates', () => {
  test('a new upload is found; unchanged index units are skipped', async () => {
    const work = await mkdtemp(join(tmpdir(), 'bw-apt-upd-'));
    const first = await buildDeb(
      { name: `linux-image-${REL}`, version: '6.1.999-1', files: { [`boot/vmlinuz-${REL}`]: 'a' } },
      join(work, 'a'),
    );
    const second = await buildDeb(
      {
        name: 'linux-image-6.1.0-100-amd64',
        version: '6.1.1000-1',
        files: { 'boot/vmlinuz-6.1.0-100-amd64': 'b' },
      },
      join(work, 'b'),
    );
    const arm = await buildDeb(
      {
        name: `linux-image-${REL}`,
        version: '6.1.999-1',
        arch: 'arm64',
        files: { [`boot/vmlinuz-${REL}`]: 'c' },
      },
      join(work, 'c'),
    );
    const mirror = await startMirror({
      apt: { suites: { sid: { packages: [first, arm], architectures: ['amd64', 'arm64'] } } },
    });
    const downloader = createDownloader({ retries: { max: 0 } });
    try {
      const cfg = { url: mirror.aptUrl, suite: 'sid', keyring: mirror.key.publicKeyPath };
      const r1 = await scanApt(cfg, {}, { downloader });
      assert.ok(r1.changed);
      assert.deepEqual(r1.packages.map((p) => `${p.name}/${p.arch}`).sort(), [
        `linux-image-${REL}/amd64`,
        `linux-image-${REL}/arm64`,
      ]);
      await mirror.update({
        apt: { suites: { sid: { packages: [first, second, arm], architectures: ['amd64', 'arm64'] } } },
      });
      mirror.clearRequests();
      const r2 = await scanApt(cfg, r1.state, { downloader });
      assert.ok(r2.changed);
      assert.deepEqual(
        r2.units.map((u) => [u.arch, u.changed]),
        [
          ['amd64', true],
          ['arm64', false],
        ],
      );
      assert.deepEqual(r2.packages.map((p) => p.name).sort(), [
        'linux-image-6.1.0-100-amd64',
        `linux-image-${REL}`,
      ]);
      assert.ok(
        !mirror.requests.some((q) => q.path.includes('arm64')),
        'the unchanged arm64 unit was fetched',
      );
    } finally {
      await downloader.close();
      await mirror.close();
      await rm(work, { recursive: true, force: true });
    }
  });
});
