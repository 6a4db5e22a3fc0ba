import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BaseDiff,
  Btf,
  BtfBuilder,
  BtfError,
  checkModuleRefs,
  diffBases,
  moduleBaseRefs,
} from '@btfwatch/btf';
import { diffStrings } from '@btfwatch/btf/internal/diff';

/**
 * A small kernel-like base. `variant` changes one thing at a time; every variant keeps the same
 * type count and (padded) string length, which is exactly when a module's BTF is not rejected.
 */
function base(variant: 'a' | 'field' | 'name' | 'tail' | 'swap' = 'a'): Btf {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true }); // 1
  const long = b.int('long', 8, { signed: true }); // 2
  const list = b.struct('list_head', 16, []); // 3, members set below through raw ids
  void list;
  const ptrList = b.ptr(3); // 4
  // 5: struct inode { int i_mode; struct list_head *i_list; } — "field" turns i_mode into long
  b.struct(variant === 'name' ? 'inodf' : 'inode', 16, [
    { name: 'i_mode', type: variant === 'field' ? long : int, bitOffset: 0 },
    { name: 'i_list', type: ptrList, bitOffset: 64 },
  ]);
  const ptrInode = b.ptr(5); // 6
  b.struct('file', 8, [{ name: 'f_inode', type: ptrInode, bitOffset: 0 }]); // 7
  b.typedef('unrelated_t', variant === 'swap' ? long : int); // 8
  b.struct('loner', 4, [{ name: 'x', type: int, bitOffset: 0 }]); // 9
  if (variant === 'tail') b.string('tail_differs');
  else b.string('tail_differz');
  b.padStringsTo(200);
  return Btf.parse(b.build());
}

test('identical bases: nothing changed', () => {
  const d = diffBases(base(), base());
  assert.equal(d.identical, true);
  assert.equal(d.sameLayout, true);
  assert.deepEqual([...d.changedTypeIds], []);
  assert.deepEqual([...d.changedStringRanges], []);
  for (let id = 0; id < 10; id++) assert.equal(d.isTypeChanged(id), false);
});

test('a changed member type changes its struct and everything that reaches it, nothing else', () => {
  const d = diffBases(base(), base('field'));
  assert.equal(d.sameLayout, true);
  // inode (5) changed; ptr to inode (6) and file (7) reach it; list_head (3) and its pointer (4) do not.
  assert.deepEqual([...d.changedTypeIds], [5, 6, 7]);
  assert.equal(d.recordChanged, 1);
  assert.deepEqual([...d.changedStringRanges], [], 'the strings are the same bytes');
});

test('a renamed type: string offsets inside the changed name are changed, others are not', () => {
  const a = base();
  const b = base('name');
  const d = diffBases(a, b);
  assert.deepEqual([...d.changedTypeIds], [5, 6, 7]);
  const inode = a.raw(5).nameOff;
  // 'inode' vs 'inodf': every suffix that includes the last letter differs, the NUL does not.
  for (let k = 0; k < 5; k++) assert.equal(d.isStringChanged(inode + k), true, `offset +${k}`);
  assert.equal(d.isStringChanged(inode + 5), false, 'the NUL after it');
  assert.equal(d.isStringChanged(a.raw(1).nameOff), false, '"int"');
  assert.equal(d.isStringChanged(0), false);
});

test('a referenced id pointing elsewhere (same counts, same strings) is found: the "corrupt" case', () => {
  const d = diffBases(base(), base('swap'));
  assert.equal(d.sameLayout, true);
  assert.deepEqual([...d.changedTypeIds], [8]);
});

test('string changes are per byte offset, including offsets into the middle of a string', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const a = enc('\0abc\0xyz\0same\0');
  const b = enc('\0abd\0xyz\0same\0');
  const r = diffStrings(a, b, a.length);
  // offsets 1..3 ("abc", "bc", "c") differ; 4 (the NUL) and everything after do not.
  assert.deepEqual([...r], [1, 4]);
  const shorter = enc('\0abc\0xy\0');
  const r2 = diffStrings(a, shorter, shorter.length);
  // "xyz" vs "xy": offsets 5..7 differ (the shorter section ends with its NUL at 7).
  assert.deepEqual([...r2], [5, 8]);
});

test('different type counts: ids past the shorter base are changed, and the layout differs', () => {
  const a = base();
  const bb = new BtfBuilder();
  bb.int('int', 4, { signed: true });
  bb.int('long', 8, { signed: true });
  const b = Btf.parse(bb.build());
  const d = diffBases(a, b);
  assert.equal(d.sameLayout, false);
  assert.equal(d.commonTypes, 3);
  assert.equal(d.isTypeChanged(1), false);
  assert.equal(d.isTypeChanged(5), true);
  assert.equal(d.isTypeChanged(0), false, 'void is void everywhere');
  assert.equal(d.isStringChanged(d.commonStrLen), true);
});

test('module refs: every id field kind and every name field, base side only', () => {
  const a = base();
  const m = new BtfBuilder({ base: a });
  const s = a.nrTypes; // first split id
  const p = m.ptr(9); // ptr → base loner
  m.struct('mod_s', 8, [
    { name: 'i_mode', type: 1, bitOffset: 0 }, // base member name "i_mode" reused from the base
    { name: 'own', type: p, bitOffset: 32 },
  ]);
  m.array(2, 1, 3);
  const proto = m.funcProto(7, [{ name: 'x', type: 4 }]);
  m.func('mod_fn', proto);
  const v = m.var('mod_v', 8);
  m.datasec('.data', 4, [{ type: v, offset: 0, size: 4 }]);
  m.declTag('tag', 6);
  m.typedef({ offset: a.raw(5).nameOff + 2 }, 1); // points into the middle of the base's "inode"
  const split = Btf.parse(m.build(), a);
  const refs = moduleBaseRefs(split);
  assert.equal(refs.startId, s);
  assert.equal(refs.startStrOff, a.strLen);
  assert.deepEqual([...refs.typeIds], [1, 2, 4, 6, 7, 8, 9]);
  const nameOf = (id: number, member: number) => {
    const t = a.type(id);
    return 'members' in t ? (t.members[member]?.nameOff as number) : -1;
  };
  // "i_mode" and "x" exist in the base and are reused; the mid-"inode" offset is taken as is.
  const expected = [nameOf(5, 0), nameOf(9, 0), a.raw(5).nameOff + 2].sort((x, y) => x - y);
  assert.deepEqual([...refs.stringOffsets], expected);

  // Checked against each variant: only the refs that hit changes are reported.
  const check = (variant: 'field' | 'name' | 'swap') => checkModuleRefs(refs, diffBases(a, base(variant)));
  const field = check('field');
  assert.deepEqual([...field.changedTypeIds], [6, 7]);
  assert.deepEqual([...field.changedStringOffsets], []);
  assert.equal(field.equivalent, false);
  const name = check('name');
  assert.deepEqual([...name.changedStringOffsets], [a.raw(5).nameOff + 2]);
  const swap = check('swap');
  assert.deepEqual([...swap.changedTypeIds], [8]);
  assert.equal(swap.sameLayout, true);
  const same = checkModuleRefs(refs, diffBases(a, base()));
  assert.equal(same.equivalent, true);
});

test('module refs against a diff from another base are refused', () => {
  const a = base();
  const split = Btf.parse(new BtfBuilder({ base: a }).build(), a);
  const other = new BtfBuilder();
  other.int('int', 4);
  const o = Btf.parse(other.build());
  assert.throws(
    () => checkModuleRefs(moduleBaseRefs(split), diffBases(o, a)),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_BASE_MISMATCH',
  );
  assert.throws(
    () => moduleBaseRefs(a),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_UNSUPPORTED',
  );
});

test('a diff survives a round trip through plain data', () => {
  const d = diffBases(base(), base('name'));
  const back = BaseDiff.fromData(JSON.parse(JSON.stringify(d.toData())));
  assert.deepEqual([...back.changedTypeIds], [...d.changedTypeIds]);
  assert.deepEqual([...back.changedStringRanges], [...d.changedStringRanges]);
  assert.equal(back.changedStringBytes, d.changedStringBytes);
  assert.equal(back.sameLayout, d.sameLayout);
});

test('cyclic bases (struct pointing at itself) diff in linear time without looping', () => {
  const mk = (flip: boolean) => {
    const b = new BtfBuilder();
    b.int('int', 4);
    b.struct('node', 16, [
      { name: 'next', type: 3, bitOffset: 0 },
      { name: 'v', type: 1, bitOffset: flip ? 96 : 64 },
    ]);
    b.ptr(2);
    b.struct('holder', 8, [{ name: 'n', type: 3, bitOffset: 0 }]);
    b.struct('free', 4, [{ name: 'i', type: 1, bitOffset: 0 }]);
    return Btf.parse(b.build());
  };
  const d = diffBases(mk(false), mk(true));
  assert.deepEqual([...d.changedTypeIds], [2, 3, 4]);
});
