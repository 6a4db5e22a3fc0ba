import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { decompressModule, PkgError, readDeb } from '@btfwatch/pkg';
import { fixture, readelfHeader, sh, sha256 } from '../../support/pkg.ts';

const isCode = (code: string) => (e: unknown) => e instanceof PkgError && e.code === code;

async function modulesOf(deb: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  await readDeb(sh(`cat '${deb}'`), {
    onFile: async (f) => void (f.kind === 'module' && out.set(f.path, await f.read())),
  });
  return out;
}

describe('decompressModule', () => {
  it('.ko.xz from a real package equals xz -dc, with the in-process decoder', async () => {
    const modules = await modulesOf(fixture('deb/linux-image-6.12-cloud.deb'));
    assert.equal(modules.size, 5);
    for (const [path, bytes] of modules) {
      const elf = await decompressModule(path, bytes);
      assert.equal(sha256(elf), sha256(sh('xz -dc', bytes)), path);
      assert.match(readelfHeader(elf), /Type:\s+REL[\s\S]*Machine:\s+Advanced Micro Devices X86-64/);
    }
  });

  it('.ko, .ko.zst and .ko.gz made from a real .ko give it back', async () => {
    const modules = await modulesOf(fixture('deb/linux-image-6.1-xz.deb'));
    const [path, ko] = [...modules][0]!;
    assert.equal(await decompressModule(path, ko), ko);
    assert.equal(sha256(await decompressModule('x.ko.zst', sh('zstd -19 -q -c', ko))), sha256(ko));
    assert.equal(
      sha256(await decompressModule('x.ko.zst', sh('zstd -q -c', ko), { decoders: { zstd: 'js' } })),
      sha256(ko),
    );
    assert.equal(sha256(await decompressModule('x.ko.gz', gzipSync(ko))), sha256(ko));
    assert.equal(
      sha256(await decompressModule('x.ko.xz', sh('xz -c', ko), { decoders: { xz: 'system' } })),
      sha256(ko),
    );
  });

  it('wrong magic, non-ELF content, corruption and bombs are typed errors', async () => {
    const modules = await modulesOf(fixture('deb/linux-image-6.1-xz.deb'));
    const ko = [...modules.values()][0]!;
    await assert.rejects(decompressModule('x.ko.xz', gzipSync(ko)), isCode('PKG_BAD_MAGIC'));
    await assert.rejects(decompressModule('x.ko', Buffer.from('not elf')), isCode('PKG_BAD_MAGIC'));
    await assert.rejects(
      decompressModule('x.ko.gz', gzipSync(Buffer.from('not elf'))),
      isCode('PKG_CORRUPT'),
    );
    await assert.rejects(decompressModule('x.ko.bz2', ko), isCode('PKG_BAD_MAGIC'));
    const xz = Buffer.from(sh('xz -c', ko));
    xz[xz.length >> 1]! ^= 0xff;
    await assert.rejects(decompressModule('x.ko.xz', xz), isCode('PKG_CORRUPT'));
    await assert.rejects(decompressModule('x.ko.xz', xz.subarray(0, 100)), isCode('PKG_TRUNCATED'));
    const bomb = sh('head -c 300000000 /dev/zero | zstd -q -c');
    await assert.rejects(
      decompressModule('x.ko.zst', bomb, { limits: { maxModuleBytes: 1 << 20 } }),
      isCode('PKG_LIMIT_EXCEEDED'),
    );
  });
});
