// readBtfFromFile/openBtf on every container: raw BTF in either byte order, a vmlinux ELF (made with
// objcopy from the fixture's .BTF, in four ELF flavours), module ELFs with and without .BTF.base, and
// things that are none of these.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Btf,
  BtfBuilder,
  BtfError,
  TypeComparer,
  distillBase,
  dumpRaw,
  openBtf,
  readBtfFromFile,
} from '@btfwatch/btf';
import { RELEASES, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'btfwatch-btf-input-'));
after(() => rmSync(work, { recursive: true, force: true }));
const vmlinux = vmlinuxBtf(RELEASES.bookworm55);
const base = Btf.parse(vmlinux);

const isBtfError = (code: string) => (e: unknown) => e instanceof BtfError && e.code === code;

test('raw BTF: /sys/kernel/btf/vmlinux-style bytes are a base', () => {
  const file = readBtfFromFile(vmlinux);
  assert.equal(file.format, 'raw');
  assert.equal(file.looksSplit, false);
  assert.equal(file.distilledBase, undefined);
  const btf = openBtf(file);
  assert.equal(btf.sha256, base.sha256);
  assert.equal(btf.nrTypes, base.nrTypes);
});

test('raw BTF in big-endian byte order is recognised and parsed', () => {
  const b = new BtfBuilder({ littleEndian: false });
  b.int('int', 4, { signed: true });
  const bytes = b.build();
  assert.deepEqual([bytes[0], bytes[1]], [0xeb, 0x9f]);
  const file = readBtfFromFile(bytes);
  assert.equal(file.format, 'raw');
  const btf = openBtf(file);
  assert.equal(btf.header.littleEndian, false);
  assert.equal(btf.name(1), 'int');
});

for (const target of ['elf64-x86-64', 'elf32-i386', 'elf64-big', 'elf32-big']) {
  test(`a vmlinux ELF (${target}) yields its .BTF section, byte for byte`, () => {
    const blob = join(work, 'vmlinux.btf');
    writeFileSync(blob, vmlinux);
    const elf = join(work, `vmlinux-${target}`);
    execFileSync('objcopy', ['-I', 'binary', '-O', target, '--rename-section', '.data=.BTF', blob, elf]);
    const file = readBtfFromFile(readFileSync(elf));
    assert.equal(file.format, 'elf');
    assert.equal(file.looksSplit, false);
    assert.ok(Buffer.from(file.btf).equals(vmlinux));
    assert.equal(openBtf(file).sha256, base.sha256);
  });
}

test('a module ELF yields split .BTF, which needs its base', () => {
  const file = readBtfFromFile(moduleElf(RELEASES.bookworm55, 'overlay.ko'));
  assert.equal(file.format, 'elf');
  assert.equal(file.looksSplit, true);
  assert.equal(file.distilledBase, undefined);
  assert.throws(
    () => openBtf(file),
    (e: unknown) => e instanceof BtfError,
  );
  const split = openBtf(file, base);
  assert.equal(split.startId, base.nrTypes);
  assert.ok(split.count > 100);
});

test('a module ELF with .BTF.base (added with objcopy) opens over its distilled base, or relocated over a full one', () => {
  const original = openBtf(readBtfFromFile(moduleElf(RELEASES.bookworm55, 'veth.ko')), base);
  const d = distillBase(original);
  const ko = join(work, 'veth.ko');
  writeFileSync(ko, moduleElf(RELEASES.bookworm55, 'veth.ko'));
  writeFileSync(join(work, 'split.btf'), d.split.bytes);
  writeFileSync(join(work, 'base.btf'), d.base.bytes);
  const out = join(work, 'veth-distilled.ko');
  execFileSync('objcopy', [
    '--update-section',
    `.BTF=${join(work, 'split.btf')}`,
    '--add-section',
    `.BTF.base=${join(work, 'base.btf')}`,
    ko,
    out,
  ]);
  const file = readBtfFromFile(readFileSync(out));
  assert.ok(file.distilledBase);
  assert.ok(Buffer.from(file.distilledBase).equals(Buffer.from(d.base.bytes)));
  const over = openBtf(file);
  assert.equal(over.startId, d.base.nrTypes);
  assert.equal(dumpRaw(over), dumpRaw(d.split));
  const relocated = openBtf(file, base);
  assert.equal(relocated.startId, base.nrTypes);
  const cmp = new TypeComparer(original, relocated);
  for (let id = original.startId; id < original.nrTypes; id++) assert.ok(cmp.equivalent(id, id));
});

test('not BTF, not ELF, ELF without .BTF, broken ELF: typed errors', () => {
  assert.throws(() => readBtfFromFile(new Uint8Array([1, 2, 3, 4, 5])), isBtfError('BTF_BAD_CONTAINER'));
  assert.throws(() => readBtfFromFile(new Uint8Array(0)), isBtfError('BTF_BAD_CONTAINER'));
  const src = join(work, 'plain.c');
  writeFileSync(src, 'int plain(void) { return 1; }\n');
  execFileSync('gcc', ['-c', src, '-o', join(work, 'plain.o')]);
  const plain = readFileSync(join(work, 'plain.o'));
  assert.throws(() => readBtfFromFile(plain), isBtfError('BTF_NOT_FOUND'));
  const truncated = moduleElf(RELEASES.bookworm55, 'dummy.ko').subarray(0, 100);
  assert.throws(() => readBtfFromFile(truncated), isBtfError('BTF_BAD_CONTAINER'));
  // Raw magic but garbage behind it: readBtfFromFile only classifies, openBtf rejects.
  const junk = new Uint8Array(40);
  junk[0] = 0x9f;
  junk[1] = 0xeb;
  assert.equal(readBtfFromFile(junk).format, 'raw');
  assert.throws(
    () => openBtf(readBtfFromFile(junk)),
    (e: unknown) => e instanceof BtfError,
  );
});
