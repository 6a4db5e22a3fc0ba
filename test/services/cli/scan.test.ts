// `btfwatch scan` end to end: keyrings in both formats, mirror rows per trust setting, a summary of what
// this scan found, and real kernel builds of every packaging layout through a loopback mirror
// (apt: trixie, sid/7.x split packages, bookworm cloud; rpm: Fedora layout) into a database.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { loadKeyring } from '@btfwatch/mirror';
import { openDatabase, kernelBuilds, moduleBuilds, verdicts } from '@btfwatch/db';
import { runCli, runCliAsync } from '../../support/cli.ts';
import { RELEASES } from '../../support/fixtures.ts';
import {
  buildCloudDebs,
  buildFedoraRpms,
  buildKernelDebs,
  buildSidDebs,
  buildTrixieDebs,
  type RealBuild,
} from '../../support/kernel-builds.ts';
import { startMirror } from '../../support/mirror-server/index.ts';
import { createTempDatabase, tempDir } from '../../support/services.ts';

const work = tempDir('btfwatch-scan-');
after(() => work.remove());

const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Fingerprints of a keyring file as gpg lists them (the oracle for what we store). */
function gpgFingerprints(path: string): string[] {
  const out = execFileSync('gpg', ['--show-keys', '--with-colons', path], {
    encoding: 'utf8',
    env: { ...process.env, GNUPGHOME: work.path },
  });
  const fprs: string[] = [];
  let primary = false;
  for (const line of out.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') primary = true;
    else if (f[0] === 'sub') primary = false;
    else if (f[0] === 'fpr' && primary) {
      fprs.push(f[9]!);
      primary = false;
    }
  }
  return fprs.sort();
}

/** nr_types as bpftool sees the blob: its last type id + 1 (void is id 0). */
function bpftoolNrTypes(btf: Uint8Array): number {
  const file = join(work.path, `nr-${sha256(btf).slice(0, 8)}.btf`);
  writeFileSync(file, btf);
  const dump = execFileSync('bpftool', ['btf', 'dump', 'file', file, 'format', 'raw'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const last = dump
    .trimEnd()
    .split('\n')
    .findLast((l) => l.startsWith('['));
  return Number(/^\[(\d+)\]/.exec(last ?? '')?.[1]) + 1;
}

test(
  'scan --keyring: binary and armored keyrings work and are stored armored; each trust setting gets its own mirror row; the summary counts this scan only',
  { timeout: 600_000 },
  async () => {
    const debs = await buildKernelDebs({ from: RELEASES.bookworm56, version: '6.1.192-2' }, work.path);
    const mirror = await startMirror({
      apt: { suites: { 'bookworm-security': { packages: [debs.image, debs.headers] } } },
    });
    const db = await createTempDatabase();
    const client = new pg.Client({ connectionString: db.url });
    try {
      const env = { DATABASE_URL: db.url, REDIS_URL: '' };
      const scan = (...extra: string[]) =>
        runCliAsync(['scan', '--apt', mirror.aptUrl, '--suite', 'bookworm-security', ...extra], env);

      // 1. The binary keyring gpg exports (what /usr/share/keyrings/*.gpg are).
      const first = await scan('--keyring', mirror.key.publicKeyPath);
      assert.equal(first.status, 0, first.stdout + first.stderr);
      const id = Number(/^mirror (\d+) \(new\): /m.exec(first.stdout)?.[1]);
      assert.match(first.stdout, /^packages: 2 listed, 2 ingested, 0 failed$/m);
      assert.match(first.stdout, /^kernel builds: 1$/m);
      assert.match(first.stdout, /^module builds: 12$/m);
      assert.match(first.stdout, /^verdicts: identical 12$/m);
      await client.connect();
      const stored = (await client.query('select keyring from mirrors where id = $1', [id])).rows[0]
        .keyring as string;
      assert.match(stored, /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
      assert.deepEqual((await loadKeyring(stored)).fingerprints, gpgFingerprints(mirror.key.publicKeyPath));

      // 2. The same key armored, the default component spelled out: the same row, nothing new found.
      const again = await scan('--keyring', mirror.key.armoredPublicKeyPath, '--component', 'main');
      assert.equal(again.status, 0, again.stdout + again.stderr);
      assert.match(again.stdout, new RegExp(`^mirror ${id}: `, 'm'));
      assert.match(again.stdout, /^packages: 0 listed, 0 ingested, 0 failed$/m);
      assert.match(again.stdout, /^kernel builds: 0$/m);
      assert.match(again.stdout, /^module builds: 0$/m);
      assert.match(again.stdout, /^verdicts: none$/m);
      assert.match(again.stdout, /^database total: 1 kernel builds, 12 module builds, 12 verdicts$/m);

      // 3. Debian's binary archive keyring: read as keys (not taken for a path), its own row, and the
      //    mirror's signature is checked against it — and fails, as it must for a key it does not hold.
      const debian = await scan('--keyring', DEBIAN_KEYRING);
      assert.equal(debian.status, 1, debian.stdout + debian.stderr);
      assert.match(debian.stderr, /scan failed: .*(signature|signed)/i);
      const rows = (await client.query('select id, keyring, insecure from mirrors order by id')).rows;
      assert.equal(rows.length, 2);
      assert.deepEqual(
        (await loadKeyring(rows[1].keyring)).fingerprints.toSorted(),
        gpgFingerprints(DEBIAN_KEYRING),
      );

      // 4. --insecure never inherits (nor lends) a keyring row: a third row, with the warning.
      const insecure = await scan('--insecure');
      assert.equal(insecure.status, 0, insecure.stdout + insecure.stderr);
      assert.match(insecure.stderr, /signature checking is OFF/);
      assert.match(insecure.stdout, /^mirror \d+ \(new\): /m);
      assert.match(insecure.stdout, /^packages: 2 listed, 0 ingested, 0 failed$/m);
      const all = (await client.query('select keyring, insecure from mirrors order by id')).rows;
      assert.deepEqual(
        all.map((r) => [r.keyring !== null, r.insecure]),
        [
          [true, false],
          [true, false],
          [false, true],
        ],
      );

      // 5. Unreadable or keyless files stop the scan before anything is stored.
      const junk = join(work.path, 'junk.gpg');
      writeFileSync(junk, 'not a keyring');
      const bad = runCli(['scan', '--apt', mirror.aptUrl, '--suite', 'x', '--keyring', junk], env);
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stderr, /^btfwatch: cannot parse OpenPGP keys .*\(MIRROR_CONFIG\)$/m);
      const missing = runCli(
        ['scan', '--apt', mirror.aptUrl, '--suite', 'x', '--keyring', `${junk}.none`],
        env,
      );
      assert.equal(missing.status, 2, missing.stderr);
      assert.match(missing.stderr, /^btfwatch: cannot read keyring /m);
      assert.equal((await client.query('select count(*)::int as n from mirrors')).rows[0].n, 3);
    } finally {
      await client.end().catch(() => undefined);
      await mirror.close();
      await db.drop();
    }
  },
);

/** What the database holds for one real build, checked against the fixture and bpftool. */
async function assertBuildStored(
  query: (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>,
  build: RealBuild,
): Promise<number> {
  const [kernel] = await query(
    'select id, base_btf_sha256, nr_types, image_package, config from kernel_builds where distro = $1 and release = $2 and version = $3 and arch = $4',
    [build.distro, build.release, build.version, build.arch],
  );
  assert.ok(kernel, `kernel build ${build.release} ${build.version} stored`);
  assert.equal(kernel.base_btf_sha256, sha256(build.vmlinuxBtf), `${build.release}: base BTF sha256`);
  assert.equal(kernel.nr_types, bpftoolNrTypes(build.vmlinuxBtf), `${build.release}: nr_types`);
  const modules = await query('select path from module_builds where kernel_build_id = $1 order by path', [
    kernel.id,
  ]);
  assert.deepEqual(
    modules.map((m) => m.path),
    [...build.modulePaths].sort(),
    `${build.release}: in-tree modules`,
  );
  const own = await query(
    'select v.btf, count(*)::int as n from verdicts v join module_builds m on m.id = v.module_build_id where v.kernel_build_id = $1 and m.kernel_build_id = $1 group by v.btf',
    [kernel.id],
  );
  assert.deepEqual(own, [{ btf: 'identical', n: build.modulePaths.length }], `${build.release}: own modules`);
  return kernel.id as number;
}

test(
  'scan --rpm: Fedora-layout rpms built from real 6.1 files (kernel-core, kernel-modules, kernel-devel) into the embedded database',
  { timeout: 600_000 },
  async () => {
    const build = await buildFedoraRpms(join(work.path, 'rpms'));
    const mirror = await startMirror({ rpm: { packages: build.packages } });
    const data = join(work.path, 'embedded');
    try {
      const res = await runCliAsync(['scan', '--rpm', mirror.rpmUrl, '--keyring', mirror.key.publicKeyPath], {
        DATA_DIR: data,
        DATABASE_URL: '',
        REDIS_URL: '',
      });
      assert.equal(res.status, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /^packages: 3 listed, 3 ingested, 0 failed$/m);
      assert.match(
        res.stdout,
        new RegExp(
          `^  \\[\\d+\\] 6\\.1\\.192-1\\.fc99\\.x86_64 6\\.1\\.192-1\\.fc99 x86_64 base ${sha256(build.vmlinuxBtf).slice(0, 12)} nr_types ${bpftoolNrTypes(build.vmlinuxBtf)}$`,
          'm',
        ),
      );
      assert.match(res.stdout, /^module builds: 12$/m);
      assert.match(res.stdout, /^verdicts: identical 12$/m);
    } finally {
      await mirror.close();
    }
    const database = await openDatabase({ dataDir: data });
    try {
      const { db } = database;
      const [kernel] = await db.select().from(kernelBuilds);
      assert.ok(kernel);
      assert.equal(kernel.distro, 'fedora');
      assert.equal(kernel.imagePackage, 'kernel-core');
      assert.equal(kernel.baseBtfSha256, sha256(build.vmlinuxBtf));
      assert.equal(kernel.nrTypes, bpftoolNrTypes(build.vmlinuxBtf));
      assert.equal(kernel.config?.MODULE_ALLOW_BTF_MISMATCH, true);
      assert.ok(kernel.symversSha256, 'Module.symvers from kernel-devel');
      const mods = await db
        .select({ path: moduleBuilds.path, kernel: moduleBuilds.kernelBuildId })
        .from(moduleBuilds);
      assert.deepEqual(mods.map((m) => m.path).sort(), [...build.modulePaths].sort());
      assert.ok(mods.every((m) => m.kernel === kernel.id));
      const v = await db.select({ btf: verdicts.btf }).from(verdicts);
      assert.equal(v.length, 12);
      assert.ok(v.every((x) => x.btf === 'identical'));
    } finally {
      await database.close();
    }
  },
);

test(
  'scan: real trixie (zstd vmlinuz, .ko.xz under /usr/lib/modules), sid 7.x split packages (linux-binary-unsigned + linux-modules + linux-base) and bookworm cloud (LZ4 legacy vmlinuz)',
  { timeout: 600_000 },
  async () => {
    const out = join(work.path, 'debs');
    const builds = [await buildTrixieDebs(out), await buildSidDebs(out), await buildCloudDebs(out)];
    const suites = Object.fromEntries(builds.map((b) => [b.suite, { packages: b.packages }]));
    const mirror = await startMirror({ apt: { suites } });
    const db = await createTempDatabase();
    const client = new pg.Client({ connectionString: db.url });
    try {
      const args = ['scan', '--apt', mirror.aptUrl, '--keyring', mirror.key.armoredPublicKeyPath];
      for (const b of builds) args.push('--suite', b.suite);
      const res = await runCliAsync(args, { DATABASE_URL: db.url, REDIS_URL: '' });
      assert.equal(res.status, 0, res.stdout + res.stderr);
      // The sid meta package ships no kernel files: listed by nobody, ingested by nobody.
      assert.match(res.stdout, /^packages: 5 listed, 5 ingested, 0 failed$/m);
      assert.match(res.stdout, /^kernel builds: 3$/m);
      assert.match(res.stdout, /^module builds: 11$/m);
      await client.connect();
      const query = async (text: string, params: unknown[]) => (await client.query(text, params)).rows;
      for (const b of builds) await assertBuildStored(query, b);
      const [sid] = await query(
        "select image_package, config from kernel_builds where release = '7.2.13+deb14-amd64'",
        [],
      );
      assert.equal(sid?.image_package, 'linux-binary-unsigned-7.2.13+deb14-amd64');
      // From linux-base's config: Debian's 7.x kernels refuse modules whose BTF does not match.
      assert.equal((sid?.config as Record<string, boolean>).MODULE_ALLOW_BTF_MISMATCH, false);
    } finally {
      await client.end().catch(() => undefined);
      await mirror.close();
      await db.drop();
    }
  },
);
