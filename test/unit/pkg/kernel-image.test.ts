// readKernelImage on the layouts of every architecture, from real extracts of the shipped Debian images
// (test/fixtures/images): the BTF it returns must be the -dbg vmlinux's .BTF (BUILDS), found where the
// shipped image holds it, in its byte order; kernels built without BTF are "no BTF", never an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { PkgError, describeLayers, extractVmlinux, readKernelImage } from '@btfwatch/pkg';
import {
  ARM64,
  ARMHF,
  I386,
  RISCV64,
  S390X,
  arm64Image,
  armhfImage,
  build,
  i386Image,
  imageFixture,
  riscvSkeleton,
  s390Image,
} from '../../support/images.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const isCode = (code: string) => (e: unknown) => e instanceof PkgError && e.code === code;
const count = (hay: Buffer, needle: Buffer) => {
  let n = 0;
  for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) n++;
  return n;
};

/** An EFI zboot image as drivers/firmware/efi/libstub/zboot-header.S lays it out, around `payload`. */
function zboot(compression: 'gzip' | 'zstd', image: Buffer): Buffer {
  const header = Buffer.alloc(0x1000);
  header.write('MZ', 0, 'latin1');
  header.write('zimg', 4, 'latin1');
  let payload: Buffer;
  let size: number;
  if (compression === 'gzip') {
    payload = gzipSync(image, { level: 1 });
    size = payload.length;
  } else {
    // zstd22_with_size: the size word is appended, and left out of the header's payload size.
    const stream = execFileSync('zstd', ['-1', '-c', '-q'], { input: image, maxBuffer: 1 << 30 });
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(image.length);
    payload = Buffer.concat([stream, trailer]);
    size = stream.length;
  }
  header.writeUInt32LE(header.length, 8);
  header.writeUInt32LE(size, 12);
  header.write(`${compression}\0`, 24, 'latin1');
  header.writeUInt32LE(0x818223cd, 0x38); // LINUX_PE_MAGIC
  return Buffer.concat([header, payload, Buffer.alloc(4096)]);
}

test('arm64 Image (PE-wrapped): the BTF by its header, the -dbg hash, the banner', async () => {
  const b = build(ARM64);
  const image = arm64Image();
  assert.equal(image.subarray(0, 2).toString('latin1'), 'MZ');
  const r = await readKernelImage(image);
  assert.equal(describeLayers(r.layers), 'arm64-image');
  assert.ok(r.btf);
  assert.equal(sha256(r.btf), b.btfSha256);
  assert.deepEqual(r.btfSource, { kind: 'raw-header', offset: b.btfAt });
  assert.equal(r.littleEndian, true);
  assert.equal(r.release, ARM64);
  assert.equal(r.arch, 'arm64');
  assert.match(r.banner ?? '', /^Linux version 6\.12\.117\+deb13-arm64 .* #1 SMP Debian 6\.12\.117-1 /);
  assert.equal(r.vmlinux, null);
  assert.equal(r.kernel, image, 'an uncompressed Image is its own kernel bytes');
  await assert.rejects(extractVmlinux(image), isCode('PKG_CORRUPT'));
});

test('Image.gz and EFI zboot (gzip, zstd with its size word) around the arm64 Image give the same BTF', async () => {
  const image = arm64Image();
  const want = build(ARM64).btfSha256;
  const gz = await readKernelImage(gzipSync(image, { level: 1 }));
  assert.equal(describeLayers(gz.layers), 'compressed (gzip) → arm64-image');
  assert.equal(sha256(gz.btf!), want);
  for (const c of ['gzip', 'zstd'] as const) {
    const r = await readKernelImage(zboot(c, image));
    assert.equal(describeLayers(r.layers), `efi-zboot (${c}) → arm64-image`);
    assert.equal(r.layers[0]!.payload!.offset, 0x1000);
    assert.equal(sha256(r.btf!), want, c);
    assert.equal(r.release, ARM64);
  }
});

test('EFI zboot with a payload outside the image, or an unknown compression, is a typed error', async () => {
  const good = zboot('gzip', arm64Image());
  const outside = Buffer.from(good);
  outside.writeUInt32LE(good.length, 12);
  await assert.rejects(readKernelImage(outside), isCode('PKG_CORRUPT'));
  const lzo = Buffer.from(good);
  lzo.write('lzo\0', 24, 'latin1');
  await assert.rejects(readKernelImage(lzo), isCode('PKG_UNSUPPORTED_COMPRESSION'));
  const corrupt = Buffer.from(good);
  for (let i = 0x1000 + 64; i < corrupt.length - 8192; i += 4099) corrupt[i]! ^= 0x5a;
  await assert.rejects(readKernelImage(corrupt), (e: unknown) => e instanceof PkgError);
});

test("s390x boot image: the zstd payload past the decompressor's own zstd magics, a big-endian BTF", async () => {
  const b = build(S390X);
  const head = imageFixture(`${S390X}/head.xz`);
  // The decompressor holds zstd magics of its own: the real payload is the first stream start past them
  // that is a zstd frame.
  assert.ok(count(head, Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) >= 2);
  const r = await readKernelImage(s390Image());
  assert.equal(describeLayers(r.layers), 's390-image (zstd) → raw');
  assert.equal(r.layers[0]!.payload!.offset, b.payload!.start);
  assert.equal(r.littleEndian, false);
  assert.equal(sha256(r.btf!), b.btfSha256);
  assert.deepEqual(r.btfSource, { kind: 'raw-header', offset: b.btfAt });
  assert.equal(r.release, S390X);
  assert.equal(r.arch, 's390x');
  assert.ok(
    Buffer.from(r.kernel).includes('Linux version 6.12.107+deb13-s390x'),
    'the decompressed raw kernel',
  );
  assert.equal(r.btf![0], 0xeb, 'big-endian magic');
});

test("armhf zImage: xz payload past the decompressor's false magic, no BTF: absent, not corrupt", async () => {
  const head = imageFixture(`${ARMHF}/head.xz`);
  assert.ok(count(head, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) >= 1);
  const r = await readKernelImage(armhfImage());
  assert.equal(describeLayers(r.layers), 'arm-zimage (xz) → raw');
  assert.equal(r.layers[0]!.payload!.offset, build(ARMHF).payload!.start);
  assert.equal(r.btf, null);
  assert.match(r.noBtf ?? '', /no BTF header/);
  assert.equal(r.release, ARMHF);
  assert.equal(r.arch, 'arm');
  assert.equal(build(ARMHF).btfSha256, null, 'the -dbg vmlinux has no .BTF either');
});

test('i386 bzImage around an ELF32 without .BTF: absent, with the ELF', async () => {
  const r = await readKernelImage(i386Image());
  assert.equal(describeLayers(r.layers), 'bzimage (xz) → elf');
  assert.equal(r.btf, null);
  assert.equal(r.noBtf, 'the vmlinux ELF has no .BTF section');
  assert.ok(r.vmlinux);
  assert.equal(r.vmlinux[4], 1, 'ELFCLASS32');
  assert.equal(r.arch, 'i386');
  assert.equal(r.littleEndian, true);
  assert.equal(build(I386).btfSha256, null);
});

test('riscv64 Image (PE-wrapped): recognised by its header, its banner read', async () => {
  const r = await readKernelImage(riscvSkeleton());
  assert.equal(describeLayers(r.layers), 'riscv-image');
  assert.equal(r.release, RISCV64);
  assert.equal(r.arch, 'riscv64');
  // The committed skeleton keeps no BTF (the heavy test reads the shipped image): nothing made up.
  assert.equal(r.btf, null);
  assert.match(r.noBtf ?? '', /riscv-image/);
});

test('a BTF header whose blob the image cuts is PKG_TRUNCATED, not "no BTF"', async () => {
  const b = build(ARM64);
  const image = arm64Image();
  await assert.rejects(readKernelImage(image.subarray(0, b.btfAt! + 100_000)), isCode('PKG_TRUNCATED'));
  // A header that is not consistent is no BTF at all: zero the string section length.
  const broken = Buffer.from(image);
  broken.writeUInt32LE(0, b.btfAt! + 20);
  const r = await readKernelImage(broken);
  assert.equal(r.btf, null);
});

test('hundreds of false stream magics before the payload are skipped without decoding them', async () => {
  // The payload-start budget is 8 decodes: this passes only if every false magic fails its header rules.
  const junk: Buffer[] = [];
  for (let i = 0; i < 200; i++) {
    junk.push(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x08 | (i & 0xf0), i, 0, 0])); // zstd, reserved bit set
    junk.push(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01, i, i, i, i])); // xz, bad CRC
    junk.push(Buffer.from([0x1f, 0x8b, 0x08, 0xe0 | (i & 0x1f), 0, 0, 0, 0, 0x5a, 0x22])); // gzip, reserved flags
  }
  const head = imageFixture(`${S390X}/head.xz`);
  const image = s390Image();
  const withJunk = Buffer.concat([head, ...junk, image.subarray(head.length)]);
  const r = await readKernelImage(withJunk);
  assert.equal(sha256(r.btf!), build(S390X).btfSha256);
});

test('malformed input is a typed error, never a crash or a partial result', async () => {
  await assert.rejects(readKernelImage(Buffer.alloc(4096, 0x41)), isCode('PKG_BAD_MAGIC'));
  await assert.rejects(readKernelImage(Buffer.alloc(0)), isCode('PKG_BAD_MAGIC'));
  await assert.rejects(readKernelImage(gzipSync(Buffer.from('not a kernel'))), isCode('PKG_CORRUPT'));
  // s390 head with its payload replaced by noise.
  const head = imageFixture(`${S390X}/head.xz`);
  const noise = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 2654435761) >>> 24));
  await assert.rejects(
    readKernelImage(Buffer.concat([head, noise, imageFixture(`${S390X}/tail.xz`)])),
    isCode('PKG_CORRUPT'),
  );
  // Every 4 KiB cut of the arm64 head and of the s390 image: a result or a PkgError, nothing else.
  const images = [arm64Image().subarray(0, 1 << 20), s390Image()];
  for (const image of images) {
    for (let len = 0; len < image.length; len += Math.max(4096, Math.floor(image.length / 64))) {
      try {
        const r = await readKernelImage(image.subarray(0, len));
        assert.ok(r.btf === null || r.btf.length > 0);
      } catch (err) {
        assert.ok(err instanceof PkgError, `length ${len}: ${String(err)}`);
      }
    }
  }
});
