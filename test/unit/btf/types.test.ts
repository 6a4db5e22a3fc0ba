import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfBuilder, BtfError, FuncLinkage, Kind, VarLinkage, dumpRaw, type Type } from '@btfwatch/btf';

/** One of every kind, with the kind_flag variants that change meaning. */
function everyKind(littleEndian: boolean) {
  const b = new BtfBuilder({ littleEndian });
  const int = b.int('int', 4, { signed: true });
  const uchar = b.int('unsigned char', 1, { char: true });
  const bool = b.int('_Bool', 1, { bool: true, bits: 1 });
  const ptr = b.ptr(int);
  const arr = b.array(uchar, int, 16);
  const struct = b.struct('packed', 8, [
    { name: 'a', type: int, bitOffset: 0, bitfieldSize: 3 },
    { name: 'b', type: int, bitOffset: 3, bitfieldSize: 29 },
    { name: 'p', type: ptr, bitOffset: 32 },
  ]);
  const plain = b.struct('plain', 16, [
    { name: 'x', type: int, bitOffset: 0 },
    { type: arr, bitOffset: 32 },
  ]);
  const union = b.union('u', 4, [{ name: 'i', type: int, bitOffset: 0 }]);
  const enumU = b.enum('eu', 4, [
    { name: 'A', value: 0 },
    { name: 'B', value: 0xffffffff },
  ]);
  const enumS = b.enum('es', 4, [{ name: 'NEG', value: -2 }], { signed: true });
  const e64u = b.enum64('e64u', 8, [{ name: 'BIG', value: 0xfedcba9876543210n }]);
  const e64s = b.enum64('e64s', 8, [{ name: 'MIN', value: -(1n << 63n) }], { signed: true });
  const fwdS = b.fwd('fs', 'struct');
  const fwdU = b.fwd('fu', 'union');
  const td = b.typedef('int_t', int);
  const vol = b.volatile(int);
  const cst = b.const(td);
  const rst = b.restrict(ptr);
  const proto = b.funcProto(int, [{ name: 'x', type: int }, { type: 0 }]);
  const func = b.func('f', proto, FuncLinkage.Global);
  const vr = b.var('v', int, VarLinkage.Extern);
  const sec = b.datasec('.data', 8, [{ type: vr, offset: 4, size: 4 }]);
  const flt = b.float('double', 8);
  const tagWhole = b.declTag('whole', struct);
  const tagMember = b.declTag('member', struct, 1);
  const ttag = b.typeTag('user', int);
  const ids = {
    int,
    uchar,
    bool,
    ptr,
    arr,
    struct,
    plain,
    union,
    enumU,
    enumS,
    e64u,
    e64s,
    fwdS,
    fwdU,
    td,
    vol,
    cst,
    rst,
    proto,
    func,
    vr,
    sec,
    flt,
    tagWhole,
    tagMember,
    ttag,
  };
  return { bytes: b.build(), ids };
}

for (const littleEndian of [true, false]) {
  test(`every kind decodes with its kind_flag semantics (${littleEndian ? 'little' : 'big'} endian)`, () => {
    const { bytes, ids } = everyKind(littleEndian);
    const btf = Btf.parse(bytes);
    assert.equal(btf.header.littleEndian, littleEndian);
    assert.equal(btf.nrTypes, Object.keys(ids).length + 1);

    const int = btf.type(ids.int);
    assert.ok(int.kind === Kind.Int);
    assert.equal(int.name, 'int');
    assert.deepEqual(
      [int.size, int.bits, int.bitsOffset, int.signed, int.isChar, int.isBool],
      [4, 32, 0, true, false, false],
    );
    const bool = btf.type(ids.bool);
    assert.ok(bool.kind === Kind.Int && bool.isBool && bool.bits === 1);

    const arr = btf.type(ids.arr);
    assert.ok(arr.kind === Kind.Array);
    assert.deepEqual([arr.typeId, arr.indexTypeId, arr.nelems], [ids.uchar, ids.int, 16]);
    assert.equal(arr.type.name, 'unsigned char');

    const packed = btf.type(ids.struct);
    assert.ok(packed.kind === Kind.Struct);
    assert.equal(packed.kindFlag, true);
    assert.deepEqual(
      packed.members.map((m) => [m.name, m.typeId, m.bitOffset, m.bitfieldSize]),
      [
        ['a', ids.int, 0, 3],
        ['b', ids.int, 3, 29],
        ['p', ids.ptr, 32, 0],
      ],
    );
    assert.equal(packed.members[2]?.type.kind, Kind.Ptr);
    const plain = btf.type(ids.plain);
    assert.ok(plain.kind === Kind.Struct && !plain.kindFlag);
    assert.deepEqual(
      plain.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize]),
      [
        ['x', 0, 0],
        ['', 32, 0],
      ],
    );
    assert.ok(btf.type(ids.union).kind === Kind.Union);

    const eu = btf.type(ids.enumU);
    assert.ok(eu.kind === Kind.Enum);
    assert.equal(eu.signed, false);
    assert.deepEqual(
      eu.values.map((v) => [v.name, v.value]),
      [
        ['A', 0],
        ['B', 0xffffffff],
      ],
    );
    const es = btf.type(ids.enumS);
    assert.ok(es.kind === Kind.Enum && es.signed);
    assert.deepEqual(
      es.values.map((v) => v.value),
      [-2],
    );
    const e64u = btf.type(ids.e64u);
    assert.ok(e64u.kind === Kind.Enum64 && !e64u.signed);
    assert.deepEqual(
      e64u.values.map((v) => v.value),
      [0xfedcba9876543210n],
    );
    const e64s = btf.type(ids.e64s);
    assert.ok(e64s.kind === Kind.Enum64 && e64s.signed);
    assert.deepEqual(
      e64s.values.map((v) => v.value),
      [-(1n << 63n)],
    );

    const fs = btf.type(ids.fwdS);
    const fu = btf.type(ids.fwdU);
    assert.ok(fs.kind === Kind.Fwd && fu.kind === Kind.Fwd);
    assert.deepEqual([fs.fwdKind, fu.fwdKind], ['struct', 'union']);

    const cst = btf.type(ids.cst);
    assert.ok(cst.kind === Kind.Const);
    assert.equal(cst.type.name, 'int_t');
    for (const [id, kind] of [
      [ids.ptr, Kind.Ptr],
      [ids.td, Kind.Typedef],
      [ids.vol, Kind.Volatile],
      [ids.rst, Kind.Restrict],
      [ids.ttag, Kind.TypeTag],
    ] as const) {
      assert.equal(btf.type(id).kind, kind);
    }
    const ttag = btf.type(ids.ttag);
    assert.ok(ttag.kind === Kind.TypeTag && ttag.value === 'user');

    const proto = btf.type(ids.proto);
    assert.ok(proto.kind === Kind.FuncProto);
    assert.equal(proto.returnTypeId, ids.int);
    assert.deepEqual(
      proto.params.map((p) => [p.name, p.typeId]),
      [
        ['x', ids.int],
        ['', 0],
      ],
    );
    assert.equal(proto.variadic, true);
    assert.equal(proto.params[1]?.type.kind, Kind.Unknown, 'a reference to 0 is void');
    const func = btf.type(ids.func);
    assert.ok(func.kind === Kind.Func);
    assert.equal(func.linkage, FuncLinkage.Global, 'FUNC linkage lives in vlen');
    assert.equal(func.type.id, ids.proto);

    const vr = btf.type(ids.vr);
    assert.ok(vr.kind === Kind.Var && vr.linkage === VarLinkage.Extern);
    const sec = btf.type(ids.sec);
    assert.ok(sec.kind === Kind.Datasec);
    assert.deepEqual(sec.vars, [{ typeId: ids.vr, offset: 4, size: 4 }]);
    assert.equal(sec.varType(0).name, 'v');
    const flt = btf.type(ids.flt);
    assert.ok(flt.kind === Kind.Float && flt.size === 8);

    const whole = btf.type(ids.tagWhole);
    const member = btf.type(ids.tagMember);
    assert.ok(whole.kind === Kind.DeclTag && member.kind === Kind.DeclTag);
    assert.deepEqual([whole.value, whole.componentIdx, member.componentIdx], ['whole', -1, 1]);
    assert.equal(member.type.id, ids.struct);

    assert.equal(btf.type(0).kind, Kind.Unknown);
    assert.equal(btf.type(ids.int), int, 'decoded once, then cached');
  });
}

test('both byte orders decode to the same model', () => {
  const le = Btf.parse(everyKind(true).bytes);
  const be = Btf.parse(everyKind(false).bytes);
  const summary = (t: Type) =>
    JSON.stringify(t, (k, v) =>
      k === 'btf' || k === 'owner' ? undefined : typeof v === 'bigint' ? `${v}n` : v,
    );
  for (let id = 1; id < le.nrTypes; id++)
    assert.equal(summary(be.type(id)), summary(le.type(id)), `type ${id}`);
  // The dump reads every member, parameter, value and var through the model.
  assert.equal(dumpRaw(be), dumpRaw(le));
  assert.notEqual(dumpRaw(le), '');
});

test('out-of-range references and names throw BtfError when resolved, not when decoded', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4);
  const badPtr = b.ptr(999);
  const badMember = b.struct('s', 4, [{ name: 'm', type: 12345, bitOffset: 0 }]);
  const badName = b.typedef({ offset: 1 << 20 }, int);
  const btf = Btf.parse(b.build());
  const ptr = btf.type(badPtr);
  assert.ok(ptr.kind === Kind.Ptr);
  assert.equal(ptr.typeId, 999);
  assert.throws(
    () => ptr.type,
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_BAD_REFERENCE' && /999/.test(e.message),
  );
  const s = btf.type(badMember);
  assert.ok(s.kind === Kind.Struct);
  assert.throws(
    () => s.members[0]?.type,
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_BAD_REFERENCE' && /member 0/.test(e.message),
  );
  const td = btf.type(badName);
  assert.throws(
    () => td.name,
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_BAD_REFERENCE',
  );
  assert.throws(
    () => btf.type(btf.nrTypes),
    (e: unknown) => e instanceof BtfError && e.code === 'BTF_NOT_FOUND',
  );
});

test('split BTF resolves ids and names below its start through the base', () => {
  const base = new BtfBuilder();
  const int = base.int('int', 4, { signed: true });
  const baseBtf = Btf.parse(base.build());
  const split = new BtfBuilder({ base: baseBtf });
  assert.equal(split.startId, 2);
  const ptr = split.ptr(int);
  const td = split.typedef('int', ptr); // 'int' is interned in the base, as libbpf does
  const mine = split.typedef('mine', ptr);
  const btf = Btf.parse(split.build(), baseBtf);
  assert.equal(btf.startId, baseBtf.nrTypes);
  const t = btf.type(td);
  assert.ok(t.kind === Kind.Typedef);
  assert.ok(t.nameOff < baseBtf.strLen, 'base string reused');
  assert.equal(t.name, 'int');
  assert.ok(btf.type(mine).nameOff >= baseBtf.strLen);
  const p = btf.type(ptr);
  assert.ok(p.kind === Kind.Ptr);
  assert.equal(p.type, baseBtf.type(int), 'base types come from the base cache');
  assert.deepEqual(
    [...btf.localTypes()].map((x) => x.id),
    [ptr, td, mine],
  );
});

test('BtfBuilder.copyOf reproduces a blob byte for byte; setWord makes a same-shape variant', () => {
  const { bytes, ids } = everyKind(false);
  const btf = Btf.parse(bytes);
  const copy = BtfBuilder.copyOf(btf);
  assert.deepEqual(copy.build(), bytes);
  // The corrupt case: same nr_types and str_len, one referenced type changed.
  copy.setWord(ids.cst, 2, ids.int);
  const changed = Btf.parse(copy.build());
  assert.equal(changed.nrTypes, btf.nrTypes);
  assert.equal(changed.strLen, btf.strLen);
  const cst = changed.type(ids.cst);
  assert.ok(cst.kind === Kind.Const && cst.typeId === ids.int);
  assert.throws(() => copy.setWord(ids.cst, 3, 0), RangeError);
  // Strings interned afterwards reuse the copied section.
  assert.equal(copy.string('int'), btf.type(ids.int).nameOff);
  // Split blobs copy over the same base.
  const base = Btf.parse(bytes);
  const m = new BtfBuilder({ base });
  m.ptr(ids.int);
  m.typedef('mine', ids.int);
  const splitBytes = m.build();
  assert.deepEqual(BtfBuilder.copyOf(Btf.parse(splitBytes, base)).build(), splitBytes);
});
