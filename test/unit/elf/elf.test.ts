import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, ElfFile } from '@btfwatch/elf';

const work = mkdtempSync(join(tmpdir(), 'btfwatch-elf-'));
const source =
  'int counter = 3; const char banner[] = "btfwatch"; int bump(int x) { return counter += x; }\n';
writeFileSync(join(work, 't.c'), source);
execFileSync('gcc', ['-g', '-c', join(work, 't.c'), '-o', join(work, 't.o')]);

// objcopy cannot change the class or byte order of a relocatable x86 object, but it wraps a raw blob
// into an ELF of any target: .data holds the blob, _binary_blob_bin_{start,end,size} describe it.
const blob = Buffer.from(Array.from({ length: 777 }, (_, i) => (i * 31) & 0xff));
writeFileSync(join(work, 'blob.bin'), blob);
const targets = ['elf64-x86-64', 'elf32-i386', 'elf64-big', 'elf32-big'];
for (const target of targets) {
  execFileSync('objcopy', ['-I', 'binary', '-O', target, 'blob.bin', `${target}.o`], { cwd: work });
}

/** Section names and sizes as readelf prints them; our reader must agree exactly. */
function readelfSections(path: string): Array<{ name: string; size: number }> {
  const out = execFileSync('readelf', ['-S', '-W', path], { encoding: 'utf8' });
  const rows: Array<{ name: string; size: number }> = [];
  for (const line of out.split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S*)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(line);
    if (m && m[1] !== '0') rows.push({ name: m[2] ?? '', size: parseInt(m[3] ?? '', 16) });
  }
  return rows;
}

for (const target of targets) {
  test(`sections of ${target} match readelf`, () => {
    const path = join(work, `${target}.o`);
    const elf = ElfFile.parse(readFileSync(path));
    assert.equal(elf.header.class, target.startsWith('elf64') ? 64 : 32);
    assert.equal(elf.header.littleEndian, !target.endsWith('big'));
    const ours = elf.sections.slice(1).map((s) => ({ name: s.name, size: s.size }));
    assert.deepEqual(ours, readelfSections(path));
  });

  test(`symbols and data of ${target} describe the wrapped blob`, () => {
    const elf = ElfFile.parse(readFileSync(join(work, `${target}.o`)));
    const byName = new Map(elf.symbols().map((s) => [s.name, s]));
    assert.equal(byName.get('_binary_blob_bin_size')?.value, BigInt(blob.byteLength));
    assert.equal(byName.get('_binary_blob_bin_end')?.value, BigInt(blob.byteLength));
    assert.deepEqual(Buffer.from(elf.sectionDataByName('.data') ?? []), blob);
  });
}

test('symbols of a compiled object include the C globals with their sizes', () => {
  const elf = ElfFile.parse(readFileSync(join(work, 't.o')));
  const byName = new Map(elf.symbols().map((s) => [s.name, s]));
  assert.equal(byName.get('counter')?.size, 4n);
  assert.equal(byName.get('banner')?.size, 9n);
  assert.ok(byName.has('bump'));
});

for (const algo of ['zlib', 'zstd']) {
  test(`SHF_COMPRESSED ${algo} sections decompress to the uncompressed bytes`, (t) => {
    const compressed = join(work, `${algo}.o`);
    try {
      execFileSync('objcopy', [`--compress-debug-sections=${algo}`, join(work, 't.o'), compressed], {
        stdio: 'pipe',
      });
    } catch {
      t.skip(`this objcopy cannot write ${algo}-compressed sections`);
      return;
    }
    const plain = ElfFile.parse(readFileSync(join(work, 't.o')));
    const packed = ElfFile.parse(readFileSync(compressed));
    const info = packed.section('.debug_info');
    assert.ok(info && (info.flags & 0x800n) !== 0n, 'objcopy produced a compressed .debug_info');
    assert.deepEqual(
      Buffer.from(packed.sectionData(info)),
      Buffer.from(plain.sectionDataByName('.debug_info') ?? []),
    );
  });
}

test('malformed ELF yields typed errors at every truncation point', () => {
  const bytes = readFileSync(join(work, 'elf64-x86-64.o'));
  let typed = 0;
  for (let len = 0; len < bytes.byteLength; len += 7) {
    try {
      const elf = ElfFile.parse(bytes.subarray(0, len));
      for (const s of elf.sections) elf.sectionData(s);
      elf.symbols();
    } catch (err) {
      assert.ok(err instanceof ElfError, `length ${len}: ${String(err)}`);
      typed++;
    }
  }
  assert.ok(typed > 0);
  assert.throws(() => ElfFile.parse(Buffer.from('not an elf file at all')), { code: 'ELF_BAD_MAGIC' });
});
