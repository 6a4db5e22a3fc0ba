import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decompressModule,
  extractVmlinux,
  readRpm,
  PkgError,
  type ArchiveEntry,
  type PickedFile,
} from '@btfwatch/pkg';
import { fixture, fixtureBytes, fixtureNames, run, sh, sha256 } from '../../support/pkg.ts';

const REL = '6.1.192-1.fixture.x86_64';

function rpmQuery(rpm: string, format: string): string {
  return run('rpm', ['-qp', '--nosignature', '--qf', format, rpm]).toString();
}

async function readAll(rpm: string, extra: Parameters<typeof readRpm>[1] = {}) {
  const entries: ArchiveEntry[] = [];
  const files = new Map<string, { file: PickedFile; bytes: Uint8Array }>();
  const info = await readRpm(createReadStream(rpm), {
    onEntry: (e) => entries.push(e),
    onFile: async (file) => {
      files.set(file.path, { file, bytes: await file.read() });
    },
    ...extra,
  });
  return { info, entries, files };
}

describe('readRpm on Fedora-layout kernel rpms', () => {
  for (const name of fixtureNames('rpm')) {
    const rpm = fixture(`rpm/${name}`);
    it(`${name}: header, file list, payload and contents equal rpm's`, async () => {
      const { info, entries, files } = await readAll(rpm, { verifyDigests: true });
      assert.equal(info.name, rpmQuery(rpm, '%{NAME}'));
      assert.equal(
        `${info.version}-${info.release}.${info.arch}`,
        rpmQuery(rpm, '%{VERSION}-%{RELEASE}.%{ARCH}'),
      );
      assert.equal(info.epoch, null);
      assert.equal(info.payloadCompressor, rpmQuery(rpm, '%{PAYLOADCOMPRESSOR}'));
      assert.equal(info.payloadCompressor, /\.(\w+)\.rpm$/.exec(name)![1]);
      assert.equal(info.sourceRpm, rpmQuery(rpm, '%{SOURCERPM}'));
      const deps = (flag: string) =>
        run('rpm', ['-qp', '--nosignature', flag, rpm]).toString().trim().split('\n').sort();
      const fmt = (d: { name: string; flags: number; version: string }) => {
        const sense = (d.flags & 2 ? '<' : '') + (d.flags & 4 ? '>' : '') + (d.flags & 8 ? '=' : '') || '';
        return d.version ? `${d.name} ${sense} ${d.version}` : d.name;
      };
      assert.deepEqual(info.requires.map(fmt).sort(), deps('--requires'));
      assert.deepEqual(info.provides.map(fmt).sort(), deps('--provides'));

      // The header's file list is what rpm -qlp prints; sizes and digests too.
      assert.deepEqual(
        info.files.map((f) => f.path),
        rpmQuery(rpm, '[%{FILENAMES}\n]').trimEnd().split('\n'),
      );
      assert.deepEqual(
        info.files.map((f) => String(f.size)),
        rpmQuery(rpm, '[%{FILESIZES}\n]').trimEnd().split('\n'),
      );
      assert.deepEqual(
        info.files.map((f) => f.digest?.hex ?? ''),
        rpmQuery(rpm, '[%{FILEDIGESTS}\n]').split('\n').slice(0, -1),
      );
      assert.ok(info.files.some((f) => f.digest?.algorithm === 'sha256'));

      // The payload is what rpm2cpio | cpio -t lists (no %ghost files).
      const cpio = sh(`rpm2cpio '${rpm}' | cpio -t --quiet`).toString().trimEnd().split('\n');
      assert.deepEqual(
        entries.map((e) => e.path),
        cpio.map((p) => p.replace(/^\./, '')),
      );
      assert.equal(info.payload.entries, entries.length);

      for (const [path, { file, bytes }] of files) {
        const expected = sh(`rpm2cpio '${rpm}' | cpio -i --quiet --to-stdout '.${path}'`);
        assert.equal(sha256(bytes), sha256(expected), path);
        assert.equal(file.digest?.hex, sha256(bytes));
      }
    });
  }

  it('kernel-core: vmlinuz and config under /lib/modules/<rel>, %ghost listed but not carried', async () => {
    const { info, files } = await readAll(fixture('rpm/kernel-core-6.1.192-1.fixture.xz.rpm'));
    const picked = [...files.values()].map(({ file }) => [file.path, file.kind, file.release]);
    assert.deepEqual(picked.sort(), [
      [`/lib/modules/${REL}/System.map`, 'systemmap', REL],
      [`/lib/modules/${REL}/config`, 'config', REL],
      [`/lib/modules/${REL}/vmlinuz`, 'vmlinuz', REL],
    ]);
    const ghost = info.files.find((f) => f.path.endsWith('/modules.dep'))!;
    assert.equal(ghost.flags & 0x40, 0x40);
    assert.ok(!files.has(ghost.path));
    const elf = await extractVmlinux(files.get(`/lib/modules/${REL}/vmlinuz`)!.bytes);
    assert.equal(sha256(elf), sha256(await extractVmlinux(fixtureBytes('vmlinuz/vmlinuz-gzip'))));
  });

  it('kernel-modules: .ko.xz modules decompress to the Debian .ko they were made from', async () => {
    const { files } = await readAll(fixture('rpm/kernel-modules-6.1.192-1.fixture.zstd.rpm'));
    assert.equal(files.size, 3);
    const debModules = new Map<string, string>();
    const deb = fixture('deb/linux-image-6.1-xz.deb');
    for (const m of ['lib/crc7', 'drivers/input/keyboard/xtkbd', 'crypto/zstd']) {
      debModules.set(
        m,
        sha256(
          sh(`dpkg-deb --fsys-tarfile '${deb}' | tar -xO './lib/modules/6.1.0-55-amd64/kernel/${m}.ko'`),
        ),
      );
    }
    for (const [path, { file, bytes }] of files) {
      assert.equal(file.kind, 'module');
      assert.equal(file.compression, 'xz');
      const m = /kernel\/(.*)\.ko\.xz$/.exec(path)![1]!;
      assert.equal(sha256(await decompressModule(path, bytes)), debModules.get(m));
    }
  });

  it('kernel-devel: Module.symvers under /usr/src/kernels/<rel>', async () => {
    const { files } = await readAll(fixture('rpm/kernel-devel-6.1.192-1.fixture.gzip.rpm'));
    const symvers = files.get(`/usr/src/kernels/${REL}/Module.symvers`);
    assert.ok(symvers);
    assert.equal(symvers.file.kind, 'symvers');
    assert.equal(symvers.file.release, REL);
  });

  it('a content change inside the payload fails the digest check', async () => {
    // Rebuild the gzip payload with one byte of config changed: cpio and gzip stay valid.
    const rpm = fixture('rpm/kernel-core-6.1.192-1.fixture.gzip.rpm');
    const original = fixtureBytes('rpm/kernel-core-6.1.192-1.fixture.gzip.rpm');
    const payloadStart = original.indexOf(Buffer.from([0x1f, 0x8b, 0x08]));
    const cpio = Buffer.from(sh(`rpm2cpio '${rpm}'`));
    const at = cpio.indexOf(Buffer.from('CONFIG_DEBUG_INFO_BTF=y'));
    assert.ok(at > 0);
    cpio[at + 'CONFIG_DEBUG_INFO_BTF='.length] = 0x6e; // y → n
    const tampered = Buffer.concat([original.subarray(0, payloadStart), sh('gzip -n -9', cpio)]);
    await assert.rejects(
      readRpm(tampered, { onFile: async (f) => void (await f.read()), verifyDigests: true }),
      (e: unknown) => e instanceof PkgError && e.code === 'PKG_CORRUPT' && /config: sha256/.test(e.message),
    );
    const { files } = await readAll(fixture('rpm/kernel-core-6.1.192-1.fixture.gzip.rpm'));
    assert.equal(files.size, 3);
  });
});
