// libs/elf on real files of other architectures: big-endian s390x and little-endian arm64 modules
// (ELF64 relocatable), and the i386 kernel's ELF32 (from its bzImage): sections as readelf sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfFile, modInfoValue, readModInfo } from '@btfwatch/elf';
import { readKernelImage } from '@btfwatch/pkg';
import { ARM64, S390X, archModuleElf, i386Image } from '../../support/images.ts';

const work = mkdtempSync(join(tmpdir(), 'btfwatch-arch-elf-'));

/** Section name, offset and size as `readelf -S -W` prints them (header row 0 left out). */
function readelfSections(bytes: Uint8Array): Array<[string, number, number]> {
  const path = join(work, 'f');
  writeFileSync(path, bytes);
  const rows: Array<[string, number, number]> = [];
  for (const line of execFileSync('readelf', ['-S', '-W', path], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S*)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (m && m[1] !== '0') rows.push([m[2] ?? '', parseInt(m[3]!, 16), parseInt(m[4]!, 16)]);
  }
  return rows;
}

const ours = (elf: ElfFile) =>
  elf.sections.slice(1).map((s): [string, number, number] => [s.name, s.offset, s.size]);

for (const [release, machine, littleEndian] of [
  [S390X, 22, false],
  [ARM64, 183, true],
] as const) {
  test(`${release} overlay.ko: ELF64 ${littleEndian ? 'LE' : 'BE'} sections and modinfo as readelf reads them`, () => {
    const bytes = archModuleElf(release, 'overlay.ko');
    const elf = ElfFile.parse(bytes);
    assert.equal(elf.header.class, 64);
    assert.equal(elf.header.littleEndian, littleEndian);
    assert.equal(elf.header.machine, machine);
    assert.deepEqual(ours(elf), readelfSections(bytes));
    assert.match(
      modInfoValue(readModInfo(elf), 'vermagic') ?? '',
      new RegExp(`^${release.replace(/[+.]/g, '\\$&')} SMP`),
    );
    assert.ok(elf.symbols().some((s) => s.name === 'init_module'));
  });
}

test('i386 686-pae vmlinux (ELF32 out of its bzImage): sections as readelf reads them', async () => {
  const { vmlinux } = await readKernelImage(i386Image());
  assert.ok(vmlinux);
  const elf = ElfFile.parse(vmlinux);
  assert.equal(elf.header.class, 32);
  assert.equal(elf.header.machine, 3);
  assert.deepEqual(ours(elf), readelfSections(vmlinux));
});
