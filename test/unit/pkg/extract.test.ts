// What an ingest keeps of a package: the vmlinux and module BTF, each in memory of its own — not a view
// into the decompressed module or vmlinux it came from, which would stay alive as long as the BTF does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readModuleFacts } from '@btfwatch/compat';
import { extractPackage, extractPackageStream } from '@btfwatch/worker';
import { RELEASES, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';
import { buildKernelDebs } from '../../support/kernel-builds.ts';
import { tempDir } from '../../support/services.ts';

/** The bytes fill the whole buffer behind them. */
function ownsItsMemory(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
}

test('extracted BTF owns its memory and is byte-for-byte the section, from a file or a stream', async () => {
  const work = tempDir();
  try {
    const release = RELEASES.bookworm56;
    const { image } = await buildKernelDebs({ from: release, version: '6.1.192-2' }, work.path);
    for (const extracted of [
      await extractPackage(image, 'deb'),
      await extractPackageStream(createReadStream(image), 'deb'),
    ]) {
      const vmlinux = extracted.kernels.get(release)?.vmlinuxBtf;
      assert.ok(vmlinux);
      assert.deepEqual(Buffer.from(vmlinux), vmlinuxBtf(release));
      assert.ok(ownsItsMemory(vmlinux), 'the vmlinux BTF is not a view into the decompressed vmlinux');

      assert.equal(extracted.modules.length, moduleNames(release).length);
      for (const m of extracted.modules) {
        const file = m.path.slice(m.path.lastIndexOf('/') + 1);
        const expected = readModuleFacts(file, moduleElf(release, file));
        assert.ok(m.facts.btf && expected.btf, `${file} has BTF`);
        assert.deepEqual(Buffer.from(m.facts.btf), Buffer.from(expected.btf));
        assert.ok(ownsItsMemory(m.facts.btf), `${file}: its BTF is not a view into the module`);
      }
    }
  } finally {
    work.remove();
  }
});
