import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decodeLz4Legacy } from '@btfwatch/pkg/internal/lz4-legacy';
import { extractVmlinux, locateBzImagePayload, PkgError, type Compression } from '@btfwatch/pkg';
import { fixtureBytes, readelfHeader, sh, sha256 } from '../../support/pkg.ts';

const COMPRESSORS = ['xz', 'zstd', 'lz4', 'gzip', 'bzip2', 'lzma'] as const;
/** The system tool that decodes each payload: the oracle. */
const ORACLE: Record<(typeof COMPRESSORS)[number], string> = {
  xz: 'xz -dc',
  zstd: 'zstd -dcq',
  lz4: 'lz4 -dcq',
  gzip: 'gzip -dc',
  bzip2: 'bzip2 -dc',
  lzma: 'xz --format=lzma -dc',
};

function isCode(code: string) {
  return (e: unknown) => e instanceof PkgError && e.code === code;
}

function payloadOf(image: Uint8Array): Uint8Array {
  const p = locateBzImagePayload(image);
  assert.ok(p);
  return image.subarray(p.offset, p.offset + p.length);
}

describe('extractVmlinux on bzImages with every kernel compressor', () => {
  for (const c of COMPRESSORS) {
    it(`${c}: setup header located, payload decoded like ${ORACLE[c]}`, async () => {
      const image = fixtureBytes(`vmlinuz/vmlinuz-${c}`);
      const p = locateBzImagePayload(image)!;
      assert.equal(p.source, 'bzimage');
      assert.equal(p.compression, c as Compression);
      // Real 6.1 header: setup_sects 39, payload_offset 716.
      assert.equal(p.offset, (39 + 1) * 512 + 716);
      assert.equal(p.offset + p.length + 4, image.length);
      const expected = sh(ORACLE[c], payloadOf(image));
      assert.equal(p.decompressedSize, expected.length);
      const out = await extractVmlinux(image);
      assert.equal(sha256(out), sha256(expected));
      assert.match(readelfHeader(out), /Type:\s+EXEC[\s\S]*Machine:\s+Advanced Micro Devices X86-64/);
    });
  }

  it('in-process decoders give the same ELF as the system tools', async () => {
    const ref = sha256(await extractVmlinux(fixtureBytes('vmlinuz/vmlinuz-xz')));
    for (const c of COMPRESSORS) {
      const out = await extractVmlinux(fixtureBytes(`vmlinuz/vmlinuz-${c}`), {
        decoders: { xz: 'native', zstd: 'js', bzip2: 'js' },
      });
      assert.equal(sha256(out), ref, c);
    }
  });

  it('an uncompressed vmlinux is returned as is', async () => {
    const elf = await extractVmlinux(fixtureBytes('vmlinuz/vmlinuz-gzip'));
    assert.equal(await extractVmlinux(elf), elf);
  });

  it('without a setup header the payload is found by its magic', async () => {
    const elf = await extractVmlinux(fixtureBytes('vmlinuz/vmlinuz-gzip'));
    for (const c of ['xz', 'gzip', 'bzip2', 'lz4', 'lzma'] as const) {
      const payload = payloadOf(fixtureBytes(`vmlinuz/vmlinuz-${c}`));
      // Leading junk that itself contains false magic starts, trailing junk after the stream.
      const junk = Buffer.from([
        0x1f, 0x8b, 0x08, 0, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x42, 0x5a, 0x68, 0x39, 1, 2,
      ]);
      const image = Buffer.concat([junk, payload, c === 'lz4' ? Buffer.alloc(0) : Buffer.from('trailing')]);
      assert.equal(locateBzImagePayload(image), null);
      assert.equal(sha256(await extractVmlinux(image)), sha256(elf), c);
    }
    await assert.rejects(extractVmlinux(Buffer.alloc(4096, 0x41)), isCode('PKG_BAD_MAGIC'));
    await assert.rejects(extractVmlinux(gzipSync(Buffer.from('not an elf'))), isCode('PKG_CORRUPT'));
  });
});

describe('extractVmlinux on damaged images', () => {
  const image = fixtureBytes('vmlinuz/vmlinuz-xz');

  it('a truncated image is PKG_TRUNCATED', async () => {
    await assert.rejects(extractVmlinux(image.subarray(0, image.length - 100)), isCode('PKG_TRUNCATED'));
  });

  it('a corrupt payload is PKG_CORRUPT for every compressor', async () => {
    for (const c of COMPRESSORS) {
      const bad = Buffer.from(fixtureBytes(`vmlinuz/vmlinuz-${c}`));
      const p = locateBzImagePayload(bad)!;
      for (let i = p.offset + 12; i < p.offset + p.length - 8; i += 97) bad[i]! ^= 0x55;
      await assert.rejects(
        extractVmlinux(bad),
        (e: unknown) => e instanceof PkgError && ['PKG_CORRUPT', 'PKG_TRUNCATED'].includes(e.code),
        c,
      );
    }
  });

  it('a wrong decompressed-size trailer is PKG_CORRUPT', async () => {
    const bad = Buffer.from(image);
    bad.writeUInt32LE(12345, bad.length - 4);
    await assert.rejects(extractVmlinux(bad), isCode('PKG_CORRUPT'));
  });

  it('an unknown payload compression is PKG_UNSUPPORTED_COMPRESSION', async () => {
    const bad = Buffer.from(image);
    const p = locateBzImagePayload(bad)!;
    bad.set([0x89, 0x4c, 0x5a, 0x4f], p.offset); // lzop
    assert.throws(() => locateBzImagePayload(bad), isCode('PKG_UNSUPPORTED_COMPRESSION'));
  });

  it('output beyond maxVmlinuxBytes is PKG_LIMIT_EXCEEDED (decompression bomb)', async () => {
    for (const c of COMPRESSORS) {
      await assert.rejects(
        extractVmlinux(fixtureBytes(`vmlinuz/vmlinuz-${c}`), { limits: { maxVmlinuxBytes: 100_000 } }),
        isCode('PKG_LIMIT_EXCEEDED'),
        c,
      );
    }
  });
});

describe('LZ4 legacy decoder', () => {
  const stream = payloadOf(fixtureBytes('vmlinuz/vmlinuz-lz4'));

  it('equals lz4 -dc', () => {
    assert.equal(sha256(decodeLz4Legacy(stream, 1 << 30, 't')), sha256(sh('lz4 -dcq', stream)));
  });

  it('rejects hostile blocks with typed errors instead of running on', () => {
    const header = Buffer.from([0x02, 0x21, 0x4c, 0x18]);
    const block = (body: Buffer) => {
      const size = Buffer.alloc(4);
      size.writeUInt32LE(body.length);
      return Buffer.concat([header, size, body]);
    };
    // Literal length made of 8 MiB of 0xff: would copy past everything.
    assert.throws(
      () => decodeLz4Legacy(block(Buffer.alloc(8 << 20, 0xff)), 1 << 30, 't'),
      isCode('PKG_CORRUPT'),
    );
    // Match offset pointing before the block start.
    assert.throws(
      () => decodeLz4Legacy(block(Buffer.from([0x10, 0x41, 0xff, 0xff, 0x00])), 1 << 30, 't'),
      isCode('PKG_CORRUPT'),
    );
    // Block size larger than what follows.
    assert.throws(
      () => decodeLz4Legacy(Buffer.concat([header, Buffer.from([0x10, 0, 0, 0, 1])]), 1 << 30, 't'),
      isCode('PKG_TRUNCATED'),
    );
    // Block size field beyond any legal block.
    assert.throws(
      () => decodeLz4Legacy(Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0x7f])]), 1 << 30, 't'),
      isCode('PKG_CORRUPT'),
    );
  });
});
