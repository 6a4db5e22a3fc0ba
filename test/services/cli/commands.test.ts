import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Btf, BtfBuilder, Kind, moduleBaseRefs, readBtfFromFile } from '@btfwatch/btf';
import { runCli, runCliAsync } from '../../support/cli.ts';
import { RELEASES, btfFixture, moduleElf, modulePath } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { startMirror } from '../../support/mirror-server/index.ts';
import { startTestService } from '../../support/service.ts';
import { tempDir } from '../../support/services.ts';

const work = tempDir('btfwatch-cli-');
const file = (name: string, bytes: Uint8Array) => {
  const path = join(work.path, name);
  writeFileSync(path, bytes);
  return path;
};
const v55 = file('v55.btf', btfFixture(`${RELEASES.bookworm55}/vmlinux.btf.xz`));
const v56 = file('v56.btf', btfFixture(`${RELEASES.bookworm56}/vmlinux.btf.xz`));
const config56 = file('config56', btfFixture(`${RELEASES.bookworm56}/config.xz`));
const symvers56 = file('symvers56', btfFixture(`${RELEASES.bookworm56}/Module.symvers.xz`));

test('inspect --types dumps a module over its base exactly as bpftool does', () => {
  const ko = file('veth.ko', moduleElf(RELEASES.bookworm55, 'veth.ko'));
  const ours = runCli(['inspect', modulePath(RELEASES.bookworm55, 'veth.ko'), '--base', v55, '--types']);
  assert.equal(ours.status, 0, ours.stderr);
  const bpftool = execFileSync('bpftool', ['-B', v55, 'btf', 'dump', 'file', ko, 'format', 'raw'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  assert.equal(ours.stdout, bpftool);
});

test('inspect --json summarises a vmlinux BTF and a module', () => {
  const base = JSON.parse(runCli(['inspect', v56, '--json']).stdout);
  assert.equal(base.kind, 'vmlinux');
  assert.equal(base.nrTypes, 100751);
  assert.equal(base.strLen, 1794309);
  assert.equal(base.btfSha256, execFileSync('sha256sum', [v56], { encoding: 'utf8' }).split(' ')[0]);
  const mod = JSON.parse(runCli(['inspect', modulePath(RELEASES.bookworm55, 'overlay.ko'), '--json']).stdout);
  assert.equal(mod.kind, 'module');
  assert.equal(mod.module, 'overlay');
  assert.match(mod.vermagic, /^6\.1\.0-55-amd64 /);
});

test('check: same build identical (exit 0); other build rejected with the kernel log (exit 1); JSON shape', () => {
  const ok = runCli([
    'check',
    '--kernel',
    v56,
    '--build-base',
    v56,
    '--config',
    config56,
    '--symvers',
    symvers56,
    '--kernel-version',
    '6.1.192',
    modulePath(RELEASES.bookworm56, 'overlay.ko'),
  ]);
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /overlay\.ko\.xz: identical \(loads-with-btf/);
  // Without --symvers whether it loads at all is not known, and check says which input is missing.
  const noSymvers = runCli([
    'check',
    '--kernel',
    v56,
    '--config',
    config56,
    '--kernel-version',
    '6.1.192',
    modulePath(RELEASES.bookworm56, 'overlay.ko'),
  ]);
  assert.match(noSymvers.stdout, /overlay\.ko\.xz: unverified \(unknown, abi unknown\)/);
  assert.match(noSymvers.stdout, /no --symvers given/);

  const bad = runCli([
    'check',
    '--kernel',
    v56,
    '--build-base',
    v55,
    '--config',
    config56,
    '--symvers',
    symvers56,
    '--kernel-version',
    '6.1.192',
    '--json',
    modulePath(RELEASES.bookworm55, 'overlay.ko'),
    modulePath(RELEASES.bookworm55, 'nls_cp437.ko'),
  ]);
  assert.equal(bad.status, 1);
  const results = JSON.parse(bad.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(
    results.map((r) => [r.module, r.verdict, r.load, r.abi]),
    [
      ['overlay', 'rejected', 'loads-without-btf', 'compatible'],
      ['nls_cp437', 'rejected', 'loads-without-btf', 'compatible'],
    ],
  );
  for (const key of ['file', 'module', 'verdict', 'load', 'log']) assert.ok(key in results[0]!, key);
  assert.equal((results[0]!.log as string[]).at(-1), 'failed to validate module [overlay] BTF: -22');
});

test('check: bad input is a clear error, not a crash', () => {
  const junk = file('junk.ko', Buffer.from('definitely not an ELF file'));
  const res = runCli(['check', '--kernel', v56, '--kernel-version', '6.1.192', junk]);
  assert.equal(res.status, 1);
  assert.match(res.stderr, /^btfwatch: /);
  assert.doesNotMatch(res.stderr, /at .*\.ts:\d+/, 'no stack trace for malformed input');
  const usage = runCli(['check', v56]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: btfwatch check/);
});

test('check: raw BTF says no version, so check asks for one instead of guessing (exit 2)', () => {
  const res = runCli(['check', '--kernel', v56, modulePath(RELEASES.bookworm55, 'overlay.ko')]);
  assert.equal(res.status, 2, res.stdout + res.stderr);
  assert.equal(res.stdout, '');
  assert.match(
    res.stderr,
    /^btfwatch: cannot tell which kernel version .*v56\.btf is from.*give --kernel-version X\.Y\.Z/,
  );
});

test(
  "check on this host's /sys/kernel/btf/vmlinux takes the running kernel's version",
  { skip: !existsSync('/sys/kernel/btf/vmlinux') && 'no /sys/kernel/btf/vmlinux here' },
  () => {
    const res = runCli([
      'check',
      '--kernel',
      '/sys/kernel/btf/vmlinux',
      '--json',
      modulePath(RELEASES.sid, 'dummy.ko'),
    ]);
    assert.ok(res.status === 0 || res.status === 1, res.stderr);
    const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    assert.match(res.stderr, /^kernel version \d+\.\d+\.\d+ \(from the running kernel \(\/proc\/version\): /);
    assert.ok(res.stderr.includes(release), `names the running release ${release}`);
    const [result] = JSON.parse(res.stdout) as Array<{ verdict: string }>;
    // A 7.2.13 module's BTF cannot be identical to this host's base; whatever it is, it was validated.
    assert.notEqual(result?.verdict, 'absent');
  },
);

test('check: a base with one referenced type retargeted (same counts) is corrupt, exit 1', () => {
  const real = Btf.parse(btfFixture(`${RELEASES.bookworm56}/vmlinux.btf.xz`));
  const dummy = readBtfFromFile(moduleElf(RELEASES.bookworm56, 'dummy.ko')).btf;
  const ptr = [...moduleBaseRefs(Btf.parse(dummy, real)).typeIds].find(
    (id) => real.raw(id).kind === Kind.Ptr,
  )!;
  const edited = BtfBuilder.copyOf(real);
  edited.setWord(ptr, 2, real.raw(ptr).sizeOrType + 1);
  const corrupt = file('v56-corrupt.btf', edited.build());
  const res = runCli([
    'check',
    '--kernel',
    corrupt,
    '--build-base',
    v56,
    '--config',
    config56,
    '--json',
    modulePath(RELEASES.bookworm56, 'dummy.ko'),
  ]);
  assert.equal(res.status, 1, res.stdout + res.stderr);
  assert.match(res.stderr, /kernel version 6\.1\.192 \(from the --config header\)/);
  const [result] = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
  assert.equal(result?.verdict, 'corrupt');
  // No --symvers: the CRCs are not known, so neither is whether it loads; the BTF verdict stands.
  assert.equal(result?.load, 'unknown');
  assert.match(String(result?.explanation), /referenced base types .* resolve differently/);
  assert.deepEqual(result?.log, []);
});

test(
  'scan: one-shot scan of a loopback mirror into the embedded database prints a summary',
  { timeout: 240_000 },
  async () => {
    const debs = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [debs.image, debs.headers] } } },
    });
    try {
      const data = join(work.path, 'data');
      const res = await runCliAsync(
        [
          'scan',
          '--apt',
          mirror.aptUrl,
          '--suite',
          'bookworm-security',
          '--arch',
          'amd64',
          '--match',
          'linux-*',
          '--keyring',
          mirror.key.armoredPublicKeyPath,
        ],
        {
          DATA_DIR: data,
          DATABASE_URL: '',
          REDIS_URL: '',
        },
      );
      assert.equal(res.status, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /kernel builds: 1/);
      assert.match(res.stdout, /6\.1\.0-56-amd64 6\.1\.192-2 amd64 base a53c4b97419b nr_types 100751/);
      assert.match(res.stdout, /module builds: 12/);
      assert.match(res.stdout, /verdicts: identical 12/);
    } finally {
      await mirror.close();
    }
  },
);

test('check --api: a host asks the service about its out-of-tree modules', { timeout: 240_000 }, async () => {
  const b56 = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
  const mirror = await startMirror({
    apt: { suites: { 'bookworm-security': { packages: [b56.image, b56.headers] } } },
  });
  const svc = await startTestService('embedded');
  try {
    const add = await svc.app.inject({
      method: 'POST',
      url: '/v1/mirrors',
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
      payload: {
        kind: 'apt',
        url: mirror.aptUrl,
        suites: ['bookworm-security'],
        keyring: readFileSync(mirror.key.armoredPublicKeyPath, 'utf8'),
      },
    });
    await svc.app.inject({
      method: 'POST',
      url: `/v1/mirrors/${add.json().id}/scan`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    await svc.drain();
    const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
    // A host booted on 6.1.0-56 with one module installed from elsewhere (built for 6.1.0-55).
    const modules = join(work.path, 'lib-modules');
    mkdirSync(join(modules, 'updates'), { recursive: true });
    mkdirSync(join(modules, 'kernel'), { recursive: true });
    writeFileSync(join(modules, 'updates', 'overlay.ko'), moduleElf(RELEASES.bookworm55, 'overlay.ko'));
    writeFileSync(join(modules, 'kernel', 'dummy.ko'), moduleElf(RELEASES.bookworm56, 'dummy.ko'));
    const res = await runCliAsync(['check', '--api', url, '--btf', v56, '--modules-dir', modules, '--json']);
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /booted kernel: build \d+, 6\.1\.0-56-amd64 6\.1\.192-2/);
    const results = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
    assert.equal(results.length, 1, 'only modules outside kernel/ by default');
    assert.equal(results[0]!.module, 'overlay');
    assert.equal(results[0]!.verdict, 'rejected');
    assert.equal(results[0]!.abi, 'compatible');
    const all = JSON.parse(
      (await runCliAsync(['check', '--api', url, '--btf', v56, '--modules-dir', modules, '--all', '--json']))
        .stdout,
    );
    assert.equal(all.length, 2);
    const pkg = JSON.parse(
      (
        await runCliAsync([
          'check',
          '--api',
          url,
          '--btf',
          v56,
          '--package',
          'linux-image-6.1.0-56-amd64-unsigned',
          '--json',
        ])
      ).stdout,
    );
    assert.equal(pkg.length, 12);
    assert.ok(pkg.every((r: { verdict: string }) => r.verdict === 'identical'));
  } finally {
    await svc.close();
    await mirror.close();
  }
});

test.after(() => work.remove());
