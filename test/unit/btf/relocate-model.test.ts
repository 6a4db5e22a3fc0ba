import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Btf,
  BtfBuilder,
  BtfError,
  BtfRelocationError,
  Kind,
  TypeComparer,
  distillBase,
  relocateSplit,
} from '@btfwatch/btf';

/** A base with every kind distillation treats differently, in one of two id orders. */
function fullBase(order: 'a' | 'b' = 'a', tweak: { embeddedSize?: number; intEncodingChar?: boolean } = {}) {
  const b = new BtfBuilder();
  const ids: Record<string, number> = {};
  const steps: Array<[string, () => number]> = [
    ['int', () => b.int('int', 4, { signed: !tweak.intEncodingChar, char: tweak.intEncodingChar })],
    ['long', () => b.int('long', 8, { signed: true })],
    ['double', () => b.float('double', 8)],
    ['fwd_u', () => b.fwd('opaque', 'union')],
    ['inode', () => b.struct('inode', 32, [{ name: 'i_mode', type: ids.int as number, bitOffset: 0 }])],
    [
      'embedded',
      () =>
        b.struct('embedded', tweak.embeddedSize ?? 8, [
          { name: 'x', type: ids.long as number, bitOffset: 0 },
        ]),
    ],
    ['e64', () => b.enum64('big_e', 8, [{ name: 'BIG', value: 1n << 40n }])],
    ['anon_e', () => b.enum(undefined, 4, [{ name: 'ANON_A', value: 1 }])],
    ['anon_s', () => b.struct(undefined, 4, [{ name: 'a', type: ids.int as number, bitOffset: 0 }])],
    ['p_inode', () => b.ptr(ids.inode as number)],
    ['td', () => b.typedef('inode_t', ids.inode as number)],
    ['arr', () => b.array(ids.int as number, ids.int as number, 4)],
    ['proto', () => b.funcProto(ids.int as number, [{ name: 'p', type: ids.p_inode as number }])],
    ['func', () => b.func('base_fn', ids.proto as number)],
  ];
  // Order 'b' defines unrelated filler first, shifting every id and string offset.
  if (order === 'b') {
    b.string('filler that moves the strings');
    b.int('filler_t', 2);
    b.struct('filler_s', 4, []);
  }
  for (const [name, add] of steps) ids[name] = add();
  return { btf: Btf.parse(b.build()), ids };
}

/** A module over `base`: embeds `embedded` by value, points at inode, uses the rest. */
function module(base: { btf: Btf; ids: Record<string, number> }) {
  const { ids } = base;
  const m = new BtfBuilder({ base: base.btf });
  const id = (n: string) => ids[n] as number;
  const s = m.struct('mod_state', 64, [
    { name: 'e', type: id('embedded'), bitOffset: 0 },
    { name: 'ino', type: id('p_inode'), bitOffset: 64 },
    { name: 'kind', type: id('e64'), bitOffset: 128 },
    { name: 'anon', type: id('anon_s'), bitOffset: 192 },
    { name: 'ae', type: id('anon_e'), bitOffset: 224 },
    { name: 'd', type: id('double'), bitOffset: 256 },
    { name: 'u', type: m.ptr(id('fwd_u')), bitOffset: 320 },
    { name: 'a', type: id('arr'), bitOffset: 384 },
  ]);
  const proto = m.funcProto(id('td'), [
    { name: 'st', type: m.ptr(s) },
    { name: 'cb', type: m.ptr(id('proto')) },
  ]);
  m.func('mod_fn', proto);
  return Btf.parse(m.build(), base.btf);
}

function assertSplitEquivalent(x: Btf, y: Btf): void {
  assert.equal(y.count >= x.count, true);
  const cmp = new TypeComparer(x, y);
  for (let i = 0; i < x.count; i++) {
    assert.ok(
      cmp.equivalent(x.startId + i, y.startId + i),
      `split type #${i}: ${x.type(x.startId + i).toString()}`,
    );
  }
}

test('distillBase keeps only named INT/FLOAT/FWD/STRUCT/UNION/ENUM in the base, memberless', () => {
  const base = fullBase();
  const split = module(base);
  const d = distillBase(split);
  const kinds = new Map<string, number>();
  for (const t of d.base.localTypes()) {
    assert.ok(t.name !== '', 'distilled base types are named');
    kinds.set(t.name, t.kind);
    if (t.kind === Kind.Struct || t.kind === Kind.Union || t.kind === Kind.Enum) assert.equal(t.vlen, 0);
  }
  assert.deepEqual(
    [...kinds].sort(),
    [
      ['double', Kind.Float],
      ['big_e', Kind.Enum], // ENUM64 becomes a sized ENUM
      ['embedded', Kind.Struct],
      ['inode', Kind.Struct],
      ['int', Kind.Int], // 'long' is only a member of 'embedded', whose members are not kept
      ['opaque', Kind.Fwd],
    ].sort(),
  );
  assert.equal(d.base.type(d.base.startId + [...kinds.keys()].indexOf('big_e')).kind, Kind.Enum);
  // The anonymous struct/enum, pointer, typedef, array and prototypes were appended to the split.
  assert.equal(d.split.count, split.count + 6);
  assert.equal(d.split.startId, d.base.nrTypes);
});

test('distill then relocate onto the same base gives back the same types', () => {
  const base = fullBase();
  const split = module(base);
  const d = distillBase(split);
  const r = relocateSplit(d.split, base.btf);
  assert.equal(r.btf.startId, base.btf.nrTypes);
  assert.equal(r.btf.base, base.btf);
  assertSplitEquivalent(split, r.btf);
  // The distilled ids map onto the base ids of the same types.
  for (const t of d.base.localTypes()) assert.equal(base.btf.type(r.idMap[t.id] as number).name, t.name);
});

test('relocation onto a renumbered base (different ids and string offsets) matches by name', () => {
  const d = distillBase(module(fullBase()));
  const other = fullBase('b');
  const r = relocateSplit(d.split, other.btf);
  assertSplitEquivalent(module(other), r.btf);
});

test('an embedded struct must match in size; a pointed-to one need not', () => {
  const d = distillBase(module(fullBase()));
  assert.throws(
    () => relocateSplit(d.split, fullBase('a', { embeddedSize: 16 }).btf),
    (e: unknown) =>
      e instanceof BtfError && e.code === 'BTF_RELOCATION' && /'embedded'.*not mapped/.test(e.message),
  );
});

test('an INT of another encoding does not match', () => {
  const d = distillBase(module(fullBase()));
  assert.throws(
    () => relocateSplit(d.split, fullBase('a', { intEncodingChar: true }).btf),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_RELOCATION' && /'int'/.test(e.message),
  );
});

test('a missing type is named in the error', () => {
  const d = distillBase(module(fullBase()));
  const b = new BtfBuilder();
  b.int('int', 4, { signed: true });
  assert.throws(
    () => relocateSplit(d.split, Btf.parse(b.build())),
    (e: unknown) =>
      e instanceof BtfError &&
      e.code === 'BTF_RELOCATION' &&
      /distilled base BTF type '\w+' \[\d+\] is not mapped/.test(e.message),
  );
});

test('same-named structs: size picks one; two of the same size are ambiguous', () => {
  const dist = new BtfBuilder();
  const s = dist.struct('dup', 8, []);
  const distilled = Btf.parse(dist.build());
  const m = new BtfBuilder({ base: distilled });
  m.ptr(s);
  const split = Btf.parse(m.build(), distilled);
  const two = (sizes: [number, number]) => {
    const b = new BtfBuilder();
    b.struct('dup', sizes[0], []);
    b.struct('dup', sizes[1], []);
    return Btf.parse(b.build());
  };
  const r = relocateSplit(split, two([4, 8]));
  assert.equal(r.idMap[s], 2, 'the one of size 8');
  assert.throws(
    () => relocateSplit(split, two([8, 8])),
    (e: unknown) =>
      e instanceof BtfError && e.code === 'BTF_RELOCATION' && /multiple candidates/.test(e.message),
  );
  // With a unique name, size does not matter for a pointed-to struct.
  const one = new BtfBuilder();
  one.struct('dup', 100, []);
  assert.equal(relocateSplit(split, Btf.parse(one.build())).idMap[s], 1);
});

test("a distilled FWD matches a base FWD by kind_flag, a base struct/union by the base's kind_flag", () => {
  const dist = new BtfBuilder();
  const fs = dist.fwd('fs', 'struct');
  const fu = dist.fwd('fu', 'union');
  const distilled = Btf.parse(dist.build());
  const m = new BtfBuilder({ base: distilled });
  m.ptr(fs);
  m.ptr(fu);
  const split = Btf.parse(m.build(), distilled);
  const relocate = (add: (b: BtfBuilder) => void) => {
    const b = new BtfBuilder();
    const int = b.int('int', 4);
    void int;
    add(b);
    return relocateSplit(split, Btf.parse(b.build()));
  };
  // FWD to FWD: kind_flag (struct/union) must agree.
  const r1 = relocate((b) => {
    b.fwd('fu', 'struct'); // 2: wrong kind, skipped
    b.fwd('fs', 'struct'); // 3
    b.fwd('fu', 'union'); // 4
  });
  assert.deepEqual([r1.idMap[fs], r1.idMap[fu]], [3, 4]);
  // FWD to STRUCT/UNION: libbpf tests the *base* type's kind_flag (its bitfield encoding), not the
  // FWD's (btf_relocate.c since 2afe4093; the kernel shares the file). A union without bitfields is
  // never matched, and a FWD struct matches a union with bitfields.
  const r2 = relocate((b) => {
    b.union('fs', 4, [{ name: 'b', type: 1, bitOffset: 0, bitfieldSize: 3 }]); // 2
    b.union('fu', 4, [{ name: 'b', type: 1, bitOffset: 0, bitfieldSize: 3 }]); // 3
  });
  assert.deepEqual([r2.idMap[fs], r2.idMap[fu]], [2, 3]);
  assert.throws(
    () =>
      relocate((b) => {
        b.struct('fs', 4, []);
        b.union('fu', 4, []);
      }),
    (e: unknown) => e instanceof BtfError && /'fu'.*not mapped/.test(e.message),
  );
  // Two composites of one name need a size match, which a FWD (size 0) never has.
  assert.throws(
    () =>
      relocate((b) => {
        b.struct('fs', 4, []);
        b.union('fs', 4, []);
      }),
    (e: unknown) => e instanceof BtfError && /'fs'.*not mapped/.test(e.message),
  );
});

test('a malformed distilled base is refused', () => {
  const mk = (add: (b: BtfBuilder) => void) => {
    const dist = new BtfBuilder();
    add(dist);
    const distilled = Btf.parse(dist.build());
    return Btf.parse(new BtfBuilder({ base: distilled }).build(), distilled);
  };
  const base = fullBase().btf;
  assert.throws(
    () =>
      relocateSplit(
        mk((b) => b.struct(undefined, 4, [])),
        base,
      ),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_RELOCATION' && /anonymous/.test(e.message),
  );
  assert.throws(
    () =>
      relocateSplit(
        mk((b) => b.ptr(0)),
        base,
      ),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_RELOCATION' && /unexpected kind/.test(e.message),
  );
  assert.throws(
    () => relocateSplit(base as Btf, base),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_RELOCATION',
  );
});

test('distilling a split that references a base FUNC fails as libbpf does', () => {
  const base = fullBase();
  const m = new BtfBuilder({ base: base.btf });
  m.declTag('tag', base.ids.func as number);
  assert.throws(
    () => distillBase(Btf.parse(m.build(), base.btf)),
    (e: unknown) =>
      e instanceof BtfError && e.code === 'BTF_RELOCATION' && /unexpected reference/.test(e.message),
  );
});

test('big-endian split BTF distills and relocates in its own byte order', () => {
  const b = new BtfBuilder({ littleEndian: false });
  const int = b.int('int', 4, { signed: true });
  const s = b.struct('s', 4, [{ name: 'i', type: int, bitOffset: 0 }]);
  const base = Btf.parse(b.build());
  const m = new BtfBuilder({ base });
  m.struct('holder', 8, [{ name: 'p', type: m.ptr(s), bitOffset: 0 }]);
  const split = Btf.parse(m.build(), base);
  const d = distillBase(split);
  assert.equal(d.base.header.littleEndian, false);
  assert.equal(d.split.header.littleEndian, false);
  assertSplitEquivalent(split, relocateSplit(d.split, base).btf);
});

test('a split name pointing into the distilled strings off a type name fails with ENOENT', () => {
  const dist = new BtfBuilder();
  const s = dist.struct('target', 4, []);
  const distilled = Btf.parse(dist.build());
  const m = new BtfBuilder({ base: distilled });
  const nameOff = distilled.raw(s).nameOff;
  m.typedef({ offset: nameOff + 1 }, s); // "arget": a string, but no distilled type's name
  const split = Btf.parse(m.build(), distilled);
  const b = new BtfBuilder();
  b.struct('target', 4, []);
  assert.throws(
    () => relocateSplit(split, Btf.parse(b.build())),
    (e: unknown) =>
      e instanceof BtfRelocationError &&
      e.errno === 2 &&
      e.message === `string '' [offset ${nameOff + 1}] is not mapped to base BTF`,
  );
  // An unmatched type is EINVAL.
  assert.throws(
    () => relocateSplit(split, Btf.parse(new BtfBuilder().build())),
    (e: unknown) => e instanceof BtfRelocationError && e.errno === 22,
  );
});
