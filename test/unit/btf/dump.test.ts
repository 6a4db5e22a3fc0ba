// Our raw dump against Debian's bpftool (v7.1.0, libbpf 1.1), byte for byte: every fixture vmlinux,
// every fixture module over its own base and over the other 6.1 build's base (where bpftool prints
// garbage names, and so must we), and synthetic blobs covering what real BTF does not exercise.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf, BtfBuilder, FuncLinkage, VarLinkage, dumpRaw, openBtf, readBtfFromFile } from '@btfwatch/btf';
import { RELEASES, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';

const BPFTOOL = existsSync('/usr/sbin/bpftool') ? '/usr/sbin/bpftool' : 'bpftool';
const work = mkdtempSync(join(tmpdir(), 'btfwatch-btf-dump-'));
after(() => rmSync(work, { recursive: true, force: true }));

function bpftoolDump(file: string, base?: string): Buffer {
  const args = [...(base ? ['-B', base] : []), 'btf', 'dump', 'file', file, 'format', 'raw'];
  return execFileSync(BPFTOOL, args, { maxBuffer: 1 << 30 });
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

function assertSameDump(ours: string, theirs: Buffer, what: string): void {
  const mine = Buffer.from(ours, 'utf8');
  if (mine.equals(theirs)) return;
  const a = ours.split('\n');
  const b = theirs.toString('utf8').split('\n');
  const i = a.findIndex((line, k) => line !== b[k]);
  assert.fail(`${what}: first difference at line ${i + 1}:\n ours:    ${a[i]}\n bpftool: ${b[i]}`);
}

const releases = Object.values(RELEASES);
const baseFiles = new Map<string, string>();
const bases = new Map<string, Btf>();
for (const release of releases) {
  const bytes = vmlinuxBtf(release);
  baseFiles.set(release, write(`${release}.btf`, bytes));
  bases.set(release, Btf.parse(bytes));
}

for (const release of releases) {
  test(`vmlinux ${release}: raw dump equals bpftool's`, () => {
    const btf = bases.get(release) as Btf;
    assertSameDump(dumpRaw(btf), bpftoolDump(baseFiles.get(release) as string), release);
  });

  test(`modules of ${release} over their own base: raw dump equals bpftool's`, () => {
    const base = bases.get(release) as Btf;
    const names = moduleNames(release);
    assert.ok(names.length >= 3);
    for (const name of names) {
      const elf = moduleElf(release, name);
      const path = write(`${release}-${name}`, elf);
      const split = openBtf(readBtfFromFile(elf), base);
      assert.ok(split.isSplit);
      assertSameDump(dumpRaw(split), bpftoolDump(path, baseFiles.get(release)), `${release} ${name}`);
    }
  });
}

// The headline case: two builds of one upstream 6.1.192. A module read against the other build's
// base takes every base id and string offset at face value; bpftool shows `ovl_config` as `owerdir`.
for (const [built, read] of [
  [RELEASES.bookworm55, RELEASES.bookworm56],
  [RELEASES.bookworm56, RELEASES.bookworm55],
] as const) {
  test(`modules of ${built} read over ${read}'s base: the same garbage as bpftool`, () => {
    const base = bases.get(read) as Btf;
    let garbled = 0;
    for (const name of moduleNames(built)) {
      const elf = moduleElf(built, name);
      const path = write(`${built}-on-${read}-${name}`, elf);
      const ours = dumpRaw(openBtf(readBtfFromFile(elf), base));
      const own = dumpRaw(openBtf(readBtfFromFile(elf), bases.get(built) as Btf));
      if (ours !== own) garbled++;
      assertSameDump(ours, bpftoolDump(path, baseFiles.get(read)), `${built} ${name} on ${read}`);
    }
    assert.ok(garbled > 0, 'some module must read differently on the other base');
  });
}

test('overlay.ko of 6.1.0-55 over 6.1.0-56 names ovl_config "owerdir", as bpftool does', () => {
  const elf = moduleElf(RELEASES.bookworm55, 'overlay.ko');
  const right = dumpRaw(openBtf(readBtfFromFile(elf), bases.get(RELEASES.bookworm55) as Btf));
  const wrong = dumpRaw(openBtf(readBtfFromFile(elf), bases.get(RELEASES.bookworm56) as Btf));
  assert.match(right, /STRUCT 'ovl_config'/);
  assert.match(wrong, /STRUCT 'owerdir'/);
  assert.doesNotMatch(wrong, /STRUCT 'ovl_config'/);
});

/** Synthetic blobs for what Debian's kernels do not contain; dumped by bpftool from temp files. */
function syntheticBase(littleEndian: boolean): Uint8Array {
  const b = new BtfBuilder({ littleEndian });
  const int = b.int('int', 4, { signed: true });
  const chr = b.int('char', 1, { char: true, signed: true });
  const bool = b.int('_Bool', 1, { bool: true });
  b.int('weird', 2, { bits: 9, offset: 3 });
  b.raw([b.string('unknown_enc'), 1 << 24, 4, (8 << 24) | 32]); // encoding 8: "UNKN"
  const ptr = b.ptr(int);
  const arr = b.array(chr, int, 7);
  const s = b.struct('bits', 8, [
    { name: 'a', type: int, bitOffset: 0, bitfieldSize: 1 },
    { name: 'b', type: bool, bitOffset: 1, bitfieldSize: 7 },
    { type: ptr, bitOffset: 32 },
  ]);
  b.union(undefined, 8, [
    { name: 'x', type: s, bitOffset: 0 },
    { name: 'y', type: arr, bitOffset: 0 },
  ]);
  b.enum('signed_e', 4, [
    { name: 'M', value: -5 },
    { name: 'P', value: 5 },
  ]);
  b.enum('unsigned_e', 4, [{ name: 'U', value: 0xfffffff0 }]);
  b.enum('empty_e', 4, []);
  b.enum64('e64', 8, [
    { name: 'X', value: 0xffffffffffffffffn },
    { name: 'Y', value: 1n },
  ]);
  b.enum64('se64', 8, [{ name: 'Z', value: -(1n << 40n) }], { signed: true });
  b.fwd('fs', 'struct');
  b.fwd('fu', 'union');
  const td = b.typedef('td', ptr);
  b.volatile(td);
  b.restrict(ptr);
  const cst = b.const(int);
  const proto = b.funcProto(cst, [{ name: 'p', type: ptr }, { type: 0 }]);
  b.func('f_static', proto, FuncLinkage.Static);
  b.func('f_global', proto, FuncLinkage.Global);
  b.func('f_extern', proto, FuncLinkage.Extern);
  b.raw([b.string('f_odd'), (12 << 24) | 7, proto]); // linkage 7: "(unknown)"
  const v1 = b.var('v_static', int, VarLinkage.Static);
  const v2 = b.var('v_global', int, VarLinkage.Global);
  b.raw([b.string('v_odd'), 14 << 24, int, 9]);
  b.datasec('.data', 16, [
    { type: v1, offset: 0, size: 4 },
    { type: v2, offset: 4, size: 4 },
    { type: 0, offset: 8, size: 4 },
    { type: 100000, offset: 12, size: 4 },
  ]);
  b.float('double', 8);
  b.declTag('tag_whole', s);
  b.declTag('tag_member', s, 2);
  b.typeTag('user', int);
  b.typedef({ offset: 123456 }, int); // name offset past the strings: "(invalid)"
  b.typedef({ offset: 2 }, int); // into the middle of "int": "nt"
  return b.build();
}

for (const littleEndian of [true, false]) {
  const order = littleEndian ? 'little' : 'big';
  test(`synthetic base of every kind and odd value (${order} endian): raw dump equals bpftool's`, () => {
    const bytes = syntheticBase(littleEndian);
    assertSameDump(dumpRaw(Btf.parse(bytes)), bpftoolDump(write(`synthetic-${order}.btf`, bytes)), order);
  });

  test(`synthetic split over a synthetic base (${order} endian): raw dump equals bpftool's`, () => {
    const baseBytes = syntheticBase(littleEndian);
    const base = Btf.parse(baseBytes);
    const b = new BtfBuilder({ base });
    const p = b.ptr(1);
    b.struct('split_s', 16, [
      { name: 'int', type: 1, bitOffset: 0 }, // reuses the base's "int"
      { name: 'own', type: p, bitOffset: 64 },
    ]);
    b.typedef({ offset: base.strLen - 2 }, p); // last byte of the base's last string
    b.typedef({ offset: base.strLen + 1000 }, p); // past both string sections
    b.datasec('.bss', 4, [{ type: base.nrTypes + 50, offset: 0, size: 4 }]);
    const bytes = b.build();
    const ours = dumpRaw(Btf.parse(bytes, base));
    const basePath = write(`synthetic-${order}-base.btf`, baseBytes);
    assertSameDump(
      ours,
      bpftoolDump(write(`synthetic-${order}-split.btf`, bytes), basePath),
      `${order} split`,
    );
  });
}
