import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { describe, it } from 'node:test';
import { readDeb, type ArchiveEntry, type PickedFile, PkgError } from '@btfwatch/pkg';
import { fixture, fixtureBytes, run, sh, sha256 } from '../../support/pkg.ts';

const IMAGE_VARIANTS = ['xz', 'zstd', 'gzip', 'bzip2', 'none'] as const;
const MEMBER_SUFFIX = { xz: '.xz', zstd: '.zst', gzip: '.gz', bzip2: '.bz2', none: '' } as const;

interface OracleEntry {
  path: string;
  type: ArchiveEntry['type'];
  size: number;
  linkTarget: string | null;
}

/** `dpkg-deb -c`, normalised the way we normalise names. */
function dpkgListing(deb: string): OracleEntry[] {
  const types: Record<string, ArchiveEntry['type']> = {
    '-': 'file',
    d: 'directory',
    l: 'symlink',
    h: 'hardlink',
  };
  return run('dpkg-deb', ['-c', deb])
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => {
      const m = /^(\S)\S{9} \S+\s+(\d+) \S+ \S+ (.*)$/.exec(line);
      assert.ok(m, `unparsed dpkg-deb -c line ${line}`);
      let name = m[3]!;
      let linkTarget: string | null = null;
      if (m[1] === 'l') [name, linkTarget] = name.split(' -> ') as [string, string];
      const path = `/${name.replace(/^\.\//, '').replace(/\/$/, '')}`.replace(/^\/$/, '/');
      return { path, type: types[m[1]!] ?? 'other', size: Number(m[2]), linkTarget };
    });
}

/** One file's content as dpkg-deb + tar extract it. */
function dpkgFile(deb: string, path: string): Buffer {
  return sh(`dpkg-deb --fsys-tarfile '${deb}' | tar -xO '.${path}'`);
}

async function readAll(deb: string, extra: Parameters<typeof readDeb>[1] = {}) {
  const entries: ArchiveEntry[] = [];
  const files = new Map<string, { file: PickedFile; bytes: Uint8Array }>();
  const info = await readDeb(createReadStream(deb), {
    onEntry: (e) => entries.push(e),
    onFile: async (file) => {
      files.set(file.path, { file, bytes: await file.read() });
    },
    ...extra,
  });
  return { info, entries, files };
}

describe('readDeb on rebuilt real kernel packages', () => {
  for (const c of IMAGE_VARIANTS) {
    const deb = fixture(`deb/linux-image-6.1-${c}.deb`);
    it(`data.tar ${c}: metadata, listing and picked files equal dpkg-deb's`, async () => {
      const { info, entries, files } = await readAll(deb);
      // Metadata: every control field, verbatim, as dpkg-deb -f prints them.
      const printed = Object.entries(info.control)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join('');
      assert.equal(printed, run('dpkg-deb', ['-f', deb]).toString());
      assert.equal(info.package, 'linux-image-6.1.0-55-amd64-unsigned');
      assert.equal(info.version, '6.1.192-1');
      assert.equal(info.architecture, 'amd64');
      assert.match(info.control['Depends']!, /^kmod, linux-base/);
      assert.equal(info.dataCompression, c);
      assert.equal(info.formatVersion, '2.0');
      const members = run('ar', ['t', deb]).toString().split('\n');
      assert.ok(members.includes(`data.tar${MEMBER_SUFFIX[c]}`));
      assert.ok(
        members.includes(
          `control.tar${MEMBER_SUFFIX[info.controlCompression === 'xz' && c === 'bzip2' ? 'xz' : c]}`,
        ),
      );
      const ctl = sh(`dpkg-deb --ctrl-tarfile '${deb}' | tar -t`)
        .toString()
        .trim()
        .split('\n')
        .filter((n) => n !== './')
        .map((n) => `/${n.replace(/^\.\//, '')}`);
      assert.deepEqual(info.controlFiles, ctl);
      assert.equal(info.md5sums.size, 10);

      assert.deepEqual(
        entries.map((e) => ({
          path: e.path,
          type: e.type,
          size: e.size,
          linkTarget: e.type === 'symlink' ? e.linkTarget : null,
        })),
        dpkgListing(deb),
      );
      assert.equal(info.data.entries, entries.length);

      const picked = [...files.keys()].sort();
      assert.deepEqual(picked, [
        '/boot/System.map-6.1.0-55-amd64',
        '/boot/config-6.1.0-55-amd64',
        '/boot/vmlinuz-6.1.0-55-amd64',
        '/lib/modules/6.1.0-55-amd64/kernel/crypto/zstd.ko',
        '/lib/modules/6.1.0-55-amd64/kernel/drivers/iio/adc/cc10001_adc.ko',
        '/lib/modules/6.1.0-55-amd64/kernel/drivers/input/keyboard/xtkbd.ko',
        '/lib/modules/6.1.0-55-amd64/kernel/drivers/power/supply/max17042_battery.ko',
        '/lib/modules/6.1.0-55-amd64/kernel/drivers/watchdog/smsc37b787_wdt.ko',
        '/lib/modules/6.1.0-55-amd64/kernel/lib/crc7.ko',
      ]);
      for (const [path, { file, bytes }] of files) {
        assert.equal(sha256(bytes), sha256(dpkgFile(deb, path)), path);
        assert.equal(file.size, bytes.length);
        // md5sums ships with the package: a second, independent check of the bytes.
        assert.equal(info.md5sums.get(path), run('md5sum', [], { input: bytes }).toString().slice(0, 32));
      }
      assert.equal(files.get('/boot/vmlinuz-6.1.0-55-amd64')!.file.kind, 'vmlinuz');
      assert.equal(
        files.get('/lib/modules/6.1.0-55-amd64/kernel/lib/crc7.ko')!.file.release,
        '6.1.0-55-amd64',
      );
    });
  }

  it('merged-/usr layout with .ko.xz modules (6.12 cloud)', async () => {
    const deb = fixture('deb/linux-image-6.12-cloud.deb');
    const { info, files } = await readAll(deb);
    assert.equal(info.package, 'linux-image-6.12.117+deb13-cloud-amd64-unsigned');
    assert.equal(files.size, 5);
    for (const [path, { file, bytes }] of files) {
      assert.match(path, /^\/usr\/lib\/modules\/6\.12\.117\+deb13-cloud-amd64\/kernel\/.*\.ko\.xz$/);
      assert.equal(file.kind, 'module');
      assert.equal(file.compression, 'xz');
      assert.equal(sha256(bytes), sha256(dpkgFile(deb, path)));
    }
  });

  it('linux-headers: Module.symvers; linux-base: config and System.map under /usr/lib/modules', async () => {
    const headers = await readAll(fixture('deb/linux-headers-6.1.deb'));
    const symvers = headers.files.get('/usr/src/linux-headers-6.1.0-55-amd64/Module.symvers');
    assert.ok(symvers);
    assert.equal(symvers.file.kind, 'symvers');
    assert.equal(symvers.file.release, '6.1.0-55-amd64');
    assert.equal(new TextDecoder().decode(symvers.bytes).split('\n').length, 2001);

    const base = await readAll(fixture('deb/linux-base-7.2.deb'));
    assert.deepEqual(
      [...base.files.values()].map(({ file }) => [file.path, file.kind, file.release]).sort(),
      [
        ['/usr/lib/modules/7.2.13+deb14-amd64/System.map', 'systemmap', '7.2.13+deb14-amd64'],
        ['/usr/lib/modules/7.2.13+deb14-amd64/config', 'config', '7.2.13+deb14-amd64'],
      ],
    );
    const config = base.files.get('/usr/lib/modules/7.2.13+deb14-amd64/config')!.bytes;
    assert.match(new TextDecoder().decode(config), /^CONFIG_DEBUG_INFO_BTF=y$/m);
  });

  it('verifyDigests checks delivered files against md5sums', async () => {
    const deb = fixture('deb/linux-image-6.1-none.deb');
    const { files } = await readAll(deb, { verifyDigests: true });
    assert.equal(files.size, 9);
    // Same package with one module byte changed inside the (uncompressed) data.tar: caught.
    const bytes = Buffer.from(fixtureBytes('deb/linux-image-6.1-none.deb'));
    const crc7 = bytes.indexOf(Buffer.from('crc7.ko\0'));
    const contentAt = bytes.indexOf(Buffer.from([0x7f, 0x45, 0x4c, 0x46]), crc7);
    bytes[contentAt + 200]! ^= 0xff;
    // The tar header checksum does not cover content, so only the digest can notice.
    await assert.rejects(
      readDeb(bytes, { onFile: async (f) => void (await f.read()), verifyDigests: true }),
      (e: unknown) => e instanceof PkgError && e.code === 'PKG_CORRUPT' && /crc7\.ko: md5/.test(e.message),
    );
    await readDeb(bytes, { onFile: async (f) => void (await f.read()) });
  });
});

describe('readDeb consumer contract', () => {
  const deb = fixture('deb/linux-image-6.1-xz.deb');

  it('metadata comes first, then one file at a time, each after the previous callback settled', async () => {
    const events: string[] = [];
    let active = 0;
    await readDeb(createReadStream(deb), {
      onMetadata: (meta) => void events.push(`meta ${meta.package}`),
      onFile: async (file) => {
        assert.equal(active, 0, 'callbacks overlap');
        active++;
        events.push(file.path);
        await new Promise((r) => setTimeout(r, 5));
        await file.read();
        await new Promise((r) => setTimeout(r, 5));
        active--;
      },
    });
    assert.equal(events[0], 'meta linux-image-6.1.0-55-amd64-unsigned');
    assert.equal(events.length, 10);
  });

  it('stream() delivers the same bytes as read(); untouched files are skipped', async () => {
    const streamed = new Map<string, string>();
    await readDeb(createReadStream(deb), {
      onFile: async (file) => {
        if (file.kind !== 'module') return;
        const chunks: Buffer[] = [];
        for await (const c of file.stream()) chunks.push(c as Buffer);
        streamed.set(file.path, sha256(Buffer.concat(chunks)));
      },
    });
    assert.equal(streamed.size, 6);
    for (const [path, digest] of streamed) assert.equal(digest, sha256(dpkgFile(deb, path)));
  });

  it('read() hands over a buffer of its own: transferring it away leaves the archive intact', async () => {
    const { port1, port2 } = new MessageChannel();
    const digests = new Map<string, string>();
    try {
      await readDeb(createReadStream(deb, { highWaterMark: 1 << 20 }), {
        select: () => true,
        onFile: async (file) => {
          const bytes = await file.read();
          digests.set(file.path, sha256(bytes));
          // Detaches bytes.buffer: were it shared with the stream's chunks, later entries would break.
          port1.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
          assert.equal(bytes.byteLength, 0);
        },
      });
    } finally {
      port1.close();
      port2.close();
    }
    assert.ok(digests.size > 9);
    for (const path of ['/boot/config-6.1.0-55-amd64', '/lib/modules/6.1.0-55-amd64/kernel/lib/crc7.ko'])
      assert.equal(digests.get(path), sha256(dpkgFile(deb, path)), path);
  });

  it('a stream abandoned half-way does not stall the archive', async () => {
    let seen = 0;
    await readDeb(createReadStream(deb), {
      onFile: async (file) => {
        seen++;
        const s = file.stream();
        for await (const _ of s) break;
      },
    });
    assert.equal(seen, 9);
  });

  it('read() after the callback settled is PKG_USAGE; a custom select picks any file', async () => {
    let late: PickedFile | null = null;
    await readDeb(createReadStream(deb), {
      select: (p) => p.endsWith('/copyright'),
      onFile: (file) => {
        late = file;
      },
    });
    assert.ok(late);
    const file = late as PickedFile;
    assert.equal(file.kind, null);
    await assert.rejects(file.read(), (e: unknown) => e instanceof PkgError && e.code === 'PKG_USAGE');
  });

  it('a consumer error is passed through unchanged and stops the read', async () => {
    const mine = new Error('consumer says no');
    let calls = 0;
    await assert.rejects(
      readDeb(createReadStream(deb), {
        onFile: async () => {
          calls++;
          throw mine;
        },
      }),
      (e) => e === mine,
    );
    assert.equal(calls, 1);
  });

  it('files larger than maxBufferedBytes must be streamed', async () => {
    await assert.rejects(
      readDeb(createReadStream(deb), {
        limits: { maxBufferedBytes: 100_000 },
        onFile: async (f) => void (await f.read()),
      }),
      (e: unknown) => e instanceof PkgError && e.code === 'PKG_LIMIT_EXCEEDED',
    );
  });

  it('decoders are configurable: system and in-process xz give the same result', async () => {
    const a = await readAll(deb, { decoders: { xz: 'native' } });
    const b = await readAll(deb, { decoders: { xz: 'system', xzThreads: 1 } });
    assert.deepEqual(
      [...a.files].map(([p, f]) => [p, sha256(f.bytes)]),
      [...b.files].map(([p, f]) => [p, sha256(f.bytes)]),
    );
    const zstdDeb = fixture('deb/linux-image-6.1-zstd.deb');
    const digests = (r: Awaited<ReturnType<typeof readAll>>) =>
      [...r.files].map(([p, f]) => [p, sha256(f.bytes)]);
    const zNative = digests(await readAll(zstdDeb));
    assert.equal(zNative.length, 9);
    assert.deepEqual(digests(await readAll(zstdDeb, { decoders: { zstd: 'js' } })), zNative);
    assert.deepEqual(digests(await readAll(zstdDeb, { decoders: { zstd: 'system' } })), zNative);
    const bz = await readAll(fixture('deb/linux-image-6.1-bzip2.deb'), { decoders: { bzip2: 'js' } });
    assert.equal(bz.files.size, 9);
  });
});
