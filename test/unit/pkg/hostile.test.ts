import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { readDeb, readRpm, PkgError } from '@btfwatch/pkg';
import { fixture, fixtureBytes, sh, waitNoChildren } from '../../support/pkg.ts';

const DEBS = ['xz', 'zstd', 'gzip', 'bzip2', 'none'].map((c) => `deb/linux-image-6.1-${c}.deb`);
const RPMS = ['xz', 'zstd', 'gzip', 'bzip2'].map((c) => `rpm/kernel-core-6.1.192-1.fixture.${c}.rpm`);
// A guard against hangs only, generous for a busy machine; speed is measured in bench/, not here.
const PER_RUN_MS = 60_000;

type Reader = typeof readDeb | typeof readRpm;

/** Reads every picked file; resolves to 'ok' or the error, failing the test on a hang. */
async function attempt(read: Reader, bytes: Uint8Array, limits = {}): Promise<'ok' | unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for ${PER_RUN_MS} ms`)), PER_RUN_MS);
  });
  try {
    return await Promise.race([
      (read as typeof readDeb)(Readable.from([bytes]), {
        limits,
        onFile: async (f) => void (await f.read()),
      }).then(() => 'ok' as const),
      timeout,
    ]);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('hung')) throw err;
    return err;
  } finally {
    clearTimeout(timer);
  }
}

function assertPkgError(result: unknown, what: string, codes?: string[]): void {
  assert.ok(
    result instanceof PkgError,
    `${what}: expected a PkgError, got ${result === 'ok' ? 'success' : String(result)}`,
  );
  if (codes)
    assert.ok(
      codes.includes(result.code),
      `${what}: ${result.code} not in ${codes.join(',')}: ${result.message}`,
    );
}

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function cutPoints(length: number, n: number): number[] {
  // Structure boundaries near the start, then spread over the rest; never the last byte, which
  // may be an optional ar pad.
  const points = new Set([0, 1, 7, 8, 60, 67, 68, 100, 128, 200, 512]);
  for (let i = 1; i <= n; i++) points.add(Math.floor(((length - 2) * i) / (n + 1)));
  return [...points].filter((p) => p < length - 1).sort((a, b) => a - b);
}

after(async () => {
  assert.deepEqual(await waitNoChildren(), [], 'decoder child processes left running');
});

describe('truncated packages fail with typed errors, never with a partial result', () => {
  for (const [read, files] of [
    [readDeb, DEBS],
    [readRpm, RPMS],
  ] as const) {
    for (const file of files) {
      it(file, async () => {
        const bytes = fixtureBytes(file);
        for (const cut of cutPoints(bytes.length, 30)) {
          assertPkgError(await attempt(read, bytes.subarray(0, cut)), `${file} cut at ${cut}`);
        }
      });
    }
  }
});

describe('mutated packages fail with typed errors or read as (differently) valid', () => {
  for (const [read, files] of [
    [readDeb, DEBS],
    [readRpm, RPMS],
  ] as const) {
    for (const file of files) {
      it(file, async () => {
        const original = fixtureBytes(file);
        const random = rng(original.length);
        let failures = 0;
        for (let i = 0; i < 40; i++) {
          const bytes = Buffer.from(original);
          const flips = 1 + Math.floor(random() * 4);
          // Half of the runs hit the first 4 KiB, where the container headers live.
          const span = i % 2 === 0 ? Math.min(4096, bytes.length) : bytes.length;
          for (let f = 0; f < flips; f++)
            bytes[Math.floor(random() * span)]! ^= 1 + Math.floor(random() * 255);
          const result = await attempt(read, bytes);
          if (result !== 'ok') {
            assertPkgError(result, `${file} mutation ${i}`);
            failures++;
          }
        }
        assert.ok(failures > 0, 'no mutation was noticed at all');
      });
    }
  }
});

describe('crafted hostile .debs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-pkg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const controlMember = sh(`ar p '${fixture('deb/linux-image-6.1-gzip.deb')}' control.tar.gz`);

  function arMember(name: string, data: Uint8Array, sizeField?: string): Buffer {
    const header = `${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${(sizeField ?? String(data.length)).padEnd(10)}\`\n`;
    return Buffer.concat([
      Buffer.from(header, 'latin1'),
      data,
      data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0),
    ]);
  }
  function deb(dataName: string, data: Uint8Array): Buffer {
    return Buffer.concat([
      Buffer.from('!<arch>\n'),
      arMember('debian-binary', Buffer.from('2.0\n')),
      arMember('control.tar.gz', controlMember),
      arMember(dataName, data),
    ]);
  }
  /** One ustar member (header + padded body); names and sizes are written as given, unchecked. */
  function tarMember(name: string, body: string, size?: bigint): Buffer {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'latin1');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    if (size === undefined) h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    else {
      // GNU base-256 size: high bit set, big-endian binary.
      h[124] = 0x80;
      for (let i = 0; i < 11; i++) h[135 - i] = Number((size >> BigInt(8 * i)) & 0xffn);
    }
    h.write('00000000000\0', 136, 'latin1');
    h.write('0', 156, 'latin1');
    h.write('ustar  \0', 257, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const byte of h) sum += byte;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const data = Buffer.from(body, 'latin1');
    return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
  }
  const tar = (...members: Buffer[]): Buffer => Buffer.concat([...members, Buffer.alloc(1024)]);
  const file = (name: string, body: string): Buffer => tarMember(name, body);

  it('a valid hand-built .deb reads (the builder itself is sound)', async () => {
    assert.equal(await attempt(readDeb, deb('data.tar', tar(file('./boot/config-1', 'CONFIG_X=y\n')))), 'ok');
  });

  it('path traversal is PKG_UNSAFE_PATH', async () => {
    for (const name of ['../../etc/passwd', './lib/modules/1/../../../boot/vmlinuz-1', 'boot/..']) {
      const result = await attempt(readDeb, deb('data.tar', tar(file(name, 'x'))));
      assertPkgError(result, name, ['PKG_UNSAFE_PATH']);
    }
  });

  it('absurd declared sizes are PKG_LIMIT_EXCEEDED before anything is buffered', async () => {
    const arHuge = Buffer.concat([
      Buffer.from('!<arch>\n'),
      arMember('debian-binary', Buffer.from('2.0\n')),
      arMember('control.tar.gz', controlMember),
      arMember('data.tar', Buffer.alloc(0), '9999999999'),
    ]);
    assertPkgError(await attempt(readDeb, arHuge), 'ar size', ['PKG_LIMIT_EXCEEDED']);
    // A tar entry claiming 1 TiB (GNU base-256 size field).
    const huge = tar(tarMember('./boot/config-1', '', 2n ** 40n));
    assertPkgError(await attempt(readDeb, deb('data.tar', huge)), 'tar size', ['PKG_LIMIT_EXCEEDED']);
    // Too many entries.
    const many = tar(...Array.from({ length: 50 }, (_, n) => file(`./f${n}`, 'x')));
    assertPkgError(await attempt(readDeb, deb('data.tar', many), { maxEntries: 10 }), 'entries', [
      'PKG_LIMIT_EXCEEDED',
    ]);
  });

  it('decompression bombs are cut at maxTotalBytes', async () => {
    const zeros = join(dir, 'zeros');
    sh(`mkdir -p '${zeros}/boot' && head -c 50000000 /dev/zero > '${zeros}/boot/config-1'`);
    for (const [name, cmd] of [
      ['data.tar.zst', 'zstd -q -c'],
      ['data.tar.gz', 'gzip -c'],
      ['data.tar.xz', 'xz -T2 -c'],
      ['data.tar.bz2', 'bzip2 -c'],
    ] as const) {
      const bomb = sh(`tar -C '${zeros}' -c . | ${cmd}`);
      assert.ok(bomb.length < 1_000_000);
      // No time bound here (the machine may be busy): attempt() fails the test on a hang.
      assertPkgError(await attempt(readDeb, deb(name, bomb), { maxTotalBytes: 20_000_000 }), name, [
        'PKG_LIMIT_EXCEEDED',
      ]);
    }
  });

  it('GNU long names and pax records (as GNU tar writes them) read as tar lists them', async () => {
    const tree = join(dir, 'long');
    const deep = `./lib/modules/1/kernel/${'d'.repeat(90)}/${'e'.repeat(60)}/name-with-a-long-path.ko`;
    sh(
      `mkdir -p '${tree}/${deep.slice(2, deep.lastIndexOf('/'))}' && printf 'ko' > '${tree}/${deep.slice(2)}' && ln -s '${'t'.repeat(120)}' '${tree}/lib/modules/1/link'`,
    );
    for (const format of ['gnu', 'pax']) {
      const data = sh(`tar -C '${tree}' --format=${format} --sort=name -c .`);
      const listed: Array<[string, string | null]> = [];
      const got: string[] = [];
      await readDeb(deb('data.tar', data), {
        onEntry: (e) => listed.push([e.path, e.type === 'symlink' ? e.linkTarget : null]),
        onFile: async (f) => void got.push(`${f.path} ${Buffer.from(await f.read()).toString()}`),
      });
      const oracle = sh(`tar -tf - --format=${format}`, data)
        .toString()
        .trimEnd()
        .split('\n')
        .map((n) => `/${n.replace(/^\.\/?/, '').replace(/\/$/, '')}`);
      assert.deepEqual(
        listed.map(([p]) => p),
        oracle,
        format,
      );
      assert.deepEqual(got, [`/${deep.slice(2)} ko`], format);
      assert.deepEqual(listed.find(([p]) => p.endsWith('/link'))?.[1], 't'.repeat(120), format);
    }
  });

  it('bad tar headers are PKG_CORRUPT or PKG_LIMIT_EXCEEDED, never a guess', async () => {
    const good = tar(file('./boot/config-1', 'CONFIG_X=y\n'));
    const badSum = Buffer.from(good);
    badSum[0]! ^= 0x01; // name changes, stored checksum does not
    assertPkgError(await attempt(readDeb, deb('data.tar', badSum)), 'checksum', ['PKG_CORRUPT']);
    const v7 = Buffer.from(good);
    v7.fill(0, 257, 265); // no ustar magic: pre-POSIX tar, which dpkg never writes
    let sum = 0;
    v7.fill(0x20, 148, 156);
    for (const b of v7.subarray(0, 512)) sum += b;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assertPkgError(await attempt(readDeb, deb('data.tar', v7)), 'no magic', ['PKG_CORRUPT']);
    const after = Buffer.concat([good, tar(file('./boot/late', 'x'))]);
    assertPkgError(await attempt(readDeb, deb('data.tar', after)), 'entry after the end marker', [
      'PKG_CORRUPT',
    ]);
    const longName = sh(`tar -C '${dir}' --format=gnu -c long`);
    assertPkgError(await attempt(readDeb, deb('data.tar', longName), { maxPathLength: 100 }), 'long name', [
      'PKG_LIMIT_EXCEEDED',
    ]);
  });

  it('bad magic anywhere is PKG_BAD_MAGIC; a tar cut between entries is PKG_TRUNCATED', async () => {
    assertPkgError(await attempt(readDeb, Buffer.from('!<arch>x')), 'ar magic', ['PKG_BAD_MAGIC']);
    assertPkgError(await attempt(readDeb, fixtureBytes(RPMS[0]!)), 'rpm as deb', ['PKG_BAD_MAGIC']);
    assertPkgError(await attempt(readRpm, fixtureBytes(DEBS[0]!)), 'deb as rpm', ['PKG_BAD_MAGIC']);
    const wrongVersion = Buffer.concat([
      Buffer.from('!<arch>\n'),
      arMember('debian-binary', Buffer.from('3.0\n')),
    ]);
    assertPkgError(await attempt(readDeb, wrongVersion), 'deb 3.0', ['PKG_BAD_MAGIC']);
    // data.tar.xz whose content is gzip.
    assertPkgError(
      await attempt(readDeb, deb('data.tar.xz', sh('gzip -c', tar()))),
      'xz member holding gzip',
      ['PKG_BAD_MAGIC'],
    );
    assertPkgError(await attempt(readDeb, deb('data.tar.lz4', tar())), 'unknown member compression', [
      'PKG_UNSUPPORTED_COMPRESSION',
    ]);
    // A complete entry but no end-of-archive blocks: the archive was cut between entries.
    const full = tar(file('./boot/config-1', 'CONFIG_X=y\n'));
    assertPkgError(await attempt(readDeb, deb('data.tar', full.subarray(0, 1024))), 'no end marker', [
      'PKG_TRUNCATED',
    ]);
  });

  it('hostile rpm headers are PKG_CORRUPT or PKG_LIMIT_EXCEEDED', async () => {
    const rpm = Buffer.from(fixtureBytes(RPMS[0]!));
    const sigIndex = 96 + 8;
    const huge = Buffer.from(rpm);
    huge.writeUInt32BE(0x7fffffff, sigIndex); // index entry count
    assertPkgError(await attempt(readRpm, huge), 'index count', ['PKG_CORRUPT']);
    const store = Buffer.from(rpm);
    store.writeUInt32BE(0x7fffffff, sigIndex + 4); // data store size
    assertPkgError(await attempt(readRpm, store), 'store size', ['PKG_LIMIT_EXCEEDED']);
    const offset = Buffer.from(rpm);
    offset.writeUInt32BE(0x7ffffff0, 96 + 16 + 8); // first entry's offset
    assertPkgError(await attempt(readRpm, offset), 'entry offset', ['PKG_CORRUPT']);
  });

  it('the caller’s input stream is destroyed when the read fails', async () => {
    const input = createReadStream(fixture(DEBS[0]!));
    await assert.rejects(
      readDeb(input, {
        onFile: () => {
          throw new Error('stop');
        },
      }),
      /stop/,
    );
    assert.equal(input.destroyed, true);
  });
});

describe('crafted hostile .rpms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-pkg-rpm-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Where the payload starts: after the lead, the 8-aligned signature header and the main header. */
  function payloadOffset(rpm: Buffer): number {
    const headerEnd = (at: number) => at + 16 + rpm.readUInt32BE(at + 8) * 16 + rpm.readUInt32BE(at + 12);
    const sigEnd = headerEnd(96);
    return headerEnd(sigEnd + ((8 - (sigEnd % 8)) % 8));
  }
  /** A real fixture's lead and headers (compressor `c`) in front of another payload. */
  function withPayload(c: string, payload: Uint8Array): Buffer {
    const rpm = fixtureBytes(`rpm/kernel-core-6.1.192-1.fixture.${c}.rpm`);
    return Buffer.concat([rpm.subarray(0, payloadOffset(rpm)), payload]);
  }
  /** One newc cpio member; name and size written as given. */
  function cpioMember(name: string, body: Uint8Array, mode = 0o100644, size = body.length): Buffer {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const nameBytes = Buffer.from(`${name}\0`, 'latin1');
    const fields = [0, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, nameBytes.length, 0].map(hex).join('');
    const head = Buffer.concat([Buffer.from(`070701${fields}`, 'latin1'), nameBytes]);
    const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
    return Buffer.concat([head, pad(head.length), body, pad(body.length)]);
  }
  const cpio = (...members: Buffer[]): Buffer =>
    Buffer.concat([...members, cpioMember('TRAILER!!!', Buffer.alloc(0), 0)]);

  it('a real rpm re-assembled by these helpers reads (the splice itself is sound)', async () => {
    const rpm = fixtureBytes(RPMS[2]!);
    const at = payloadOffset(rpm);
    assert.deepEqual([...rpm.subarray(at, at + 2)], [0x1f, 0x8b], 'gzip payload starts there');
    assert.equal(await attempt(readRpm, withPayload('gzip', rpm.subarray(at))), 'ok');
  });

  it('path traversal in the cpio payload or in the header file list is PKG_UNSAFE_PATH', async () => {
    for (const name of [
      '../../etc/passwd',
      './lib/modules/6.1.192-1.fixture.x86_64/../../../boot/vmlinuz-1',
      './boot/..',
    ]) {
      const payload = sh('gzip -c', cpio(cpioMember(name, Buffer.from('x'))));
      assertPkgError(await attempt(readRpm, withPayload('gzip', payload)), name, ['PKG_UNSAFE_PATH']);
    }
    // A DIRNAMES entry rewritten in place (same length) to climb: refused while reading the header.
    const rpm = Buffer.from(fixtureBytes(RPMS[2]!));
    const dirname = Buffer.from('/lib/modules/6.1.192-1.fixture.x86_64/\0');
    const at = rpm.indexOf(dirname, 96);
    assert.ok(at > 0 && at < payloadOffset(rpm), 'the header names the modules directory');
    rpm.write('/lib/modules/../../../../etc/xxxxxxxx/', at, 'latin1');
    assertPkgError(await attempt(readRpm, rpm), 'header dirname', ['PKG_UNSAFE_PATH']);
  });

  it('absurd cpio sizes are PKG_LIMIT_EXCEEDED before anything is buffered', async () => {
    const payload = sh(
      'gzip -c',
      cpio(cpioMember('./boot/config-1', Buffer.alloc(0), 0o100644, 0xffffffff)).subarray(0, 200),
    );
    assertPkgError(await attempt(readRpm, withPayload('gzip', payload)), 'cpio size', ['PKG_LIMIT_EXCEEDED']);
  });

  it('payload decompression bombs are cut at maxTotalBytes, for every rpm compressor', async () => {
    const zeros = join(dir, 'zeros');
    sh(`mkdir -p '${zeros}/boot' && head -c 50000000 /dev/zero > '${zeros}/boot/config-1'`);
    const archive = sh(`cd '${zeros}' && find . -mindepth 1 | cpio --quiet -o -H newc`);
    for (const [c, cmd] of [
      ['zstd', 'zstd -q -c'],
      ['gzip', 'gzip -c'],
      ['xz', 'xz -T2 -c'],
      ['bzip2', 'bzip2 -c'],
    ] as const) {
      const bomb = sh(cmd, archive);
      assert.ok(bomb.length < 1_000_000, `${c} bomb is small`);
      assertPkgError(await attempt(readRpm, withPayload(c, bomb), { maxTotalBytes: 20_000_000 }), c, [
        'PKG_LIMIT_EXCEEDED',
      ]);
    }
  });
});
