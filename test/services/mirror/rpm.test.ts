// Scans a loopback rpm repository built by createrepo_c from rpmbuild packages, repomd signed with gpg.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createDownloader,
  fetchPackages,
  loadKeyring,
  MirrorError,
  scanRpm,
  type Downloader,
  type RpmMirrorConfig,
  type RpmScanResult,
} from '@btfwatch/mirror';
import {
  buildRpm,
  createSigningKey,
  startMirror,
  type MirrorHandle,
  type SigningKey,
} from '../../support/mirror-server/index.ts';

const REL = '6.5.6-300.fc39.x86_64';

async function buildKernelRpms(dir: string): Promise<string[]> {
  const common = { version: '6.5.6', release: '300.fc39' };
  return Promise.all([
    buildRpm(
      {
        name: 'kernel-core',
        ...common,
        epoch: 1,
        requires: ['kernel-modules-core = 1:6.5.6-300.fc39'],
        provides: ['kernel = 1:6.5.6-300.fc39'],
        files: { [`lib/modules/${REL}/vmlinuz`]: 'vmlinuz', [`lib/modules/${REL}/config`]: 'CONFIG_X=y' },
      },
      dir,
    ),
    buildRpm(
      { name: 'kernel-modules-core', ...common, files: { [`lib/modules/${REL}/kernel/fs/a.ko.xz`]: 'a' } },
      dir,
    ),
    buildRpm(
      { name: 'kernel-modules-extra', ...common, files: { [`lib/modules/${REL}/kernel/net/b.ko.xz`]: 'b' } },
      dir,
    ),
    buildRpm(
      { name: 'kernel-devel', ...common, files: { [`usr/src/kernels/${REL}/Module.symvers`]: 's' } },
      dir,
    ),
    buildRpm(
      {
        name: 'kmod-acme',
        version: '1.0',
        release: '1.el9',
        files: { [`lib/modules/${REL}/extra/acme/acme.ko`]: 'k' },
      },
      dir,
    ),
    buildRpm({ name: 'kernel', ...common, files: { 'usr/share/doc/kernel/README': 'meta' } }, dir),
    buildRpm(
      {
        name: 'kernel-debuginfo',
        ...common,
        files: { [`usr/lib/debug/lib/modules/${REL}/kernel/fs/a.ko.debug`]: 'd' },
      },
      dir,
    ),
    buildRpm({ name: 'hello', version: '2.12', files: { 'usr/bin/hello': 'hi' } }, dir),
    buildRpm({ name: 'kernel-rt-core', ...common, files: { [`lib/modules/${REL}+rt/vmlinuz`]: 'rt' } }, dir),
  ]);
}

const SELECTED = [
  'kernel',
  'kernel-core',
  'kernel-devel',
  'kernel-modules-core',
  'kernel-modules-extra',
  'kernel-rt-core',
  'kmod-acme',
];

function names(r: RpmScanResult): string[] {
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

describe('rpm mirror scan (loopback, createrepo_c)', () => {
  let work: string;
  let rpms: string[];
  let mirror: MirrorHandle;
  let downloader: Downloader;
  let stranger: SigningKey;
  let dir: string;
  const config = (extra: Partial<RpmMirrorConfig> = {}): RpmMirrorConfig => ({
    url: mirror.rpmUrl,
    key: mirror.key.armoredPublicKeyPath,
    ...extra,
  });
  const deps = () => ({ downloader, dir, indexRetry: { rounds: 2, delayMs: 5 } });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'bw-rpm-test-'));
    dir = join(work, 'downloads');
    rpms = await buildKernelRpms(join(work, 'rpms'));
    mirror = await startMirror({ rpm: { packages: rpms } });
    stranger = await createSigningKey('someone else <else@btfwatch.invalid>');
    downloader = createDownloader({ retries: { max: 2, baseDelayMs: 5, maxDelayMs: 20 } });
  });

  after(async () => {
    await downloader?.close();
    await mirror?.close();
    await stranger?.dispose();
    await rm(work, { recursive: true, force: true });
  });

  test('finds kernel packages by filelists, with roles, versions, checksums and dependencies', async () => {
    mirror.clearRequests();
    const r = await scanRpm(config(), {}, deps());
    assert.deepEqual(names(r), SELECTED);
    assert.ok(r.changed);
    assert.equal(r.signature.verified, true);
    assert.equal(r.signature.source, 'repomd.xml.asc');
    assert.deepEqual(
      r.signature.signers.map((s) => s.fingerprint),
      [mirror.key.fingerprint],
    );
    assert.equal(r.selection, 'filelists');
    const byName = Object.fromEntries(r.packages.map((p) => [p.name, p]));
    assert.deepEqual(Object.fromEntries(r.packages.map((p) => [p.name, `${p.role}/${p.evidence}`])), {
      kernel: 'kernel-image/name',
      'kernel-core': 'kernel-image/filelists',
      'kernel-rt-core': 'kernel-image/filelists',
      'kernel-modules-core': 'kernel-modules/filelists',
      'kernel-modules-extra': 'kernel-modules/filelists',
      'kernel-devel': 'kernel-headers/filelists',
      'kmod-acme': 'out-of-tree-modules/filelists',
    });
    const core = byName['kernel-core'];
    assert.ok(core);
    assert.equal(core.version, '1:6.5.6-300.fc39');
    assert.equal(core.arch, 'x86_64');
    assert.deepEqual(core.source, { name: 'kernel-core', version: '6.5.6-300.fc39' });
    assert.ok(core.depends.includes('kernel-modules-core = 1:6.5.6-300.fc39'), core.depends.join(', '));
    assert.ok(core.provides.includes('kernel = 1:6.5.6-300.fc39'), core.provides.join(', '));
    assert.deepEqual(core.releases, [REL]);
    const file = rpms.find((p) => p.includes('/kernel-core-'));
    assert.ok(file);
    const bytes = await readFile(file);
    assert.equal(core.size, bytes.length);
    assert.equal(core.url, `${mirror.rpmUrl}${core.path}`);
    assert.ok(!mirror.requests.some((q) => q.path.includes('/Packages/')));
    assert.deepEqual(await readdir(dir).catch(() => []), []);
  });

  test('a binary public key works as well as an armored one, and so does a loaded keyring', async () => {
    assert.deepEqual(names(await scanRpm(config({ key: mirror.key.publicKeyPath }), {}, deps())), SELECTED);
    const keyring = await loadKeyring([stranger.publicKeyPath, mirror.key.publicKeyPath]);
    assert.deepEqual(names(await scanRpm(config({ key: keyring }), {}, deps())), SELECTED);
  });

  test('an unchanged repomd.xml costs exactly one conditional request', async () => {
    const first = await scanRpm(config(), {}, deps());
    mirror.clearRequests();
    const second = await scanRpm(config(), first.state, deps());
    assert.equal(second.changed, false);
    assert.deepEqual(
      mirror.requests.map((q) => [q.path, q.status]),
      [['/rpm/repodata/repomd.xml', 304]],
    );
    mirror.setFault('/rpm/repodata/repomd.xml', { kind: 'no-conditional' });
    mirror.clearRequests();
    try {
      const third = await scanRpm(config(), first.state, deps());
      assert.equal(!third.changed && third.reason, 'same-hash');
      assert.equal(mirror.requests.length, 1);
    } finally {
      mirror.setFault('/rpm/repodata/repomd.xml', null);
    }
  });

  test('known sha256s are never downloaded', async () => {
    const first = await scanRpm(config(), {}, deps());
    assert.ok(first.changed);
    const core = first.packages.find((p) => p.name === 'kernel-core');
    assert.ok(core);
    mirror.clearRequests();
    const fetched: string[] = [];
    const outcomes = await fetchPackages(first.packages, {
      downloader,
      dir: join(work, 'fetch'),
      knownSha256: new Set([core.sha256]),
      onFile: async (c, f) => {
        assert.equal((await readFile(f.path)).length, c.size);
        fetched.push(c.name);
      },
    });
    assert.equal(outcomes.find((o) => o.candidate.name === 'kernel-core')?.status, 'known');
    assert.deepEqual(
      fetched.sort(),
      SELECTED.filter((n) => n !== 'kernel-core'),
    );
    assert.ok(!mirror.requests.some((q) => q.path.endsWith(core.path)));
    assert.deepEqual(await readdir(join(work, 'fetch')), [], 'consumed files are removed');
  });

  test('signature failures: wrong key, tampered repomd, missing .asc', async () => {
    await rejectsWith(scanRpm(config({ key: stranger.publicKeyPath }), {}, deps()), 'MIRROR_SIGNATURE');
    const repomd = await readFile(join(mirror.root, 'rpm/repodata/repomd.xml'), 'utf8');
    mirror.setFault('/rpm/repodata/repomd.xml', {
      kind: 'replace',
      body: repomd.replace('<revision>', '<revision>1'),
    });
    try {
      await rejectsWith(scanRpm(config(), {}, deps()), 'MIRROR_SIGNATURE');
    } finally {
      mirror.setFault('/rpm/repodata/repomd.xml', null);
    }
    mirror.setFault('/rpm/repodata/repomd.xml.asc', { kind: 'status', status: 404 });
    try {
      await rejectsWith(scanRpm(config(), {}, deps()), 'MIRROR_SIGNATURE');
    } finally {
      mirror.setFault('/rpm/repodata/repomd.xml.asc', null);
    }
  });

  test('no key without insecure is MIRROR_CONFIG before any request; insecure scans and says so', async () => {
    mirror.clearRequests();
    await rejectsWith(scanRpm({ url: mirror.rpmUrl }, {}, deps()), 'MIRROR_CONFIG');
    assert.equal(mirror.requests.length, 0);
    const r = await scanRpm({ url: mirror.rpmUrl, insecure: true }, {}, deps());
    assert.deepEqual(names(r), SELECTED);
    assert.equal(r.insecure, true);
    assert.ok(r.changed);
    assert.equal(r.signature.verified, false);
    assert.ok(!mirror.requests.some((q) => q.path.endsWith('.asc')));
  });

  test('a corrupted primary is MIRROR_INDEX_UNAVAILABLE after another pass; a 500 on it is retried', async () => {
    mirror.setFault('/rpm/repodata/primary*', { kind: 'corrupt' });
    mirror.clearRequests();
    try {
      const err = await rejectsWith(scanRpm(config(), {}, deps()), 'MIRROR_INDEX_UNAVAILABLE');
      assert.equal(err.transient, true);
      assert.match(err.message, /^primary: .*sha256 [0-9a-f]{64} does not match the expected/);
      assert.equal(mirror.requests.filter((q) => q.path.includes('primary')).length, 2);
    } finally {
      mirror.setFault('/rpm/repodata/primary*', null);
    }
    mirror.setFault('/rpm/repodata/primary*', { kind: 'status', status: 500, times: 1 });
    mirror.clearRequests();
    assert.deepEqual(names(await scanRpm(config(), {}, deps())), SELECTED);
    assert.deepEqual(
      mirror.requests.filter((q) => q.path.includes('primary')).map((q) => q.status),
      [500, 200],
    );
    assert.deepEqual(await readdir(dir).catch(() => []), []);
  });

  test('match and architectures narrow the candidates', async () => {
    assert.deepEqual(names(await scanRpm(config({ match: 'kernel-modules*' }), {}, deps())), [
      'kernel-modules-core',
      'kernel-modules-extra',
    ]);
    assert.deepEqual(names(await scanRpm(config({ architectures: ['aarch64'] }), {}, deps())), []);
  });

  for (const compression of ['xz', 'zstd'] as const) {
    test(`${compression}-compressed metadata`, async () => {
      const m = await startMirror({ rpm: { packages: rpms, compression } });
      try {
        const r = await scanRpm({ url: m.rpmUrl, key: m.key.publicKeyPath }, {}, deps());
        assert.deepEqual(names(r), SELECTED);
        const primary = m.requests.find((q) => q.path.includes('primary'));
        assert.ok(primary?.path.endsWith(compression === 'xz' ? '.xz' : '.zst'), primary?.path);
      } finally {
        await m.close();
      }
    });
  }

  test('without filelists: names only, said in the warnings', async () => {
    const m = await startMirror({ rpm: { packages: rpms, noFilelists: true } });
    try {
      const r = await scanRpm({ url: m.rpmUrl, key: m.key.publicKeyPath }, {}, deps());
      assert.deepEqual(names(r), [
        'kernel',
        'kernel-core',
        'kernel-devel',
        'kernel-modules-core',
        'kernel-modules-extra',
        'kmod-acme',
      ]);
      assert.ok(r.changed);
      assert.equal(r.selection, 'name');
      assert.deepEqual(
        r.warnings.map((w) => w.code),
        ['FILE_LIST_MISSING'],
      );
    } finally {
      await m.close();
    }
  });
});
