import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, BtfBuilder, StructuralHashes, TypeComparer, typesEquivalent } from '@btfwatch/btf';

/**
 * struct list { struct list *next; struct item *item; };  struct item { int v; struct list l; };
 * typedef struct item item_t;  — built with the types (and so ids and strings) in a chosen order.
 */
function graph(order: 'forward' | 'reverse', opts: { itemField?: string; padStrings?: boolean } = {}) {
  const b = new BtfBuilder();
  if (opts.padStrings) b.string('some string that moves every offset');
  const ids: Record<string, number> = {};
  // Ids are assigned up front so records can reference types defined later.
  const names =
    order === 'forward'
      ? ['int', 'list', 'plist', 'item', 'pitem', 'item_t']
      : ['item_t', 'pitem', 'item', 'plist', 'list', 'int'];
  names.forEach((n, i) => (ids[n] = i + 1));
  const id = (n: string) => ids[n] as number;
  for (const n of names) {
    switch (n) {
      case 'int':
        b.int('int', 4, { signed: true });
        break;
      case 'list':
        b.struct('list', 16, [
          { name: 'next', type: id('plist'), bitOffset: 0 },
          { name: 'item', type: id('pitem'), bitOffset: 64 },
        ]);
        break;
      case 'plist':
        b.ptr(id('list'));
        break;
      case 'item':
        b.struct('item', 24, [
          { name: opts.itemField ?? 'v', type: id('int'), bitOffset: 0 },
          { name: 'l', type: id('list'), bitOffset: 64 },
        ]);
        break;
      case 'pitem':
        b.ptr(id('item'));
        break;
      case 'item_t':
        b.typedef('item_t', id('item'));
        break;
    }
  }
  return { btf: Btf.parse(b.build()), id };
}

test('hashes ignore ids and string offsets', () => {
  const x = graph('forward');
  const y = graph('reverse', { padStrings: true });
  const hx = StructuralHashes.of(x.btf);
  const hy = StructuralHashes.of(y.btf);
  for (const n of ['int', 'list', 'plist', 'item', 'pitem', 'item_t']) {
    assert.equal(hx.shape(x.id(n)), hy.shape(y.id(n)), `shape of ${n}`);
    assert.equal(hx.deep(x.id(n)), hy.deep(y.id(n)), `deep of ${n}`);
    assert.match(hx.shape(x.id(n)), /^[0-9a-f]{16}$/);
  }
  assert.notEqual(hx.shape(x.id('list')), hx.shape(x.id('item')));
});

test('shape: what a type holds by value counts, pointees count by name; deep: everything counts', () => {
  const x = graph('forward');
  const y = graph('forward', { itemField: 'w' }); // item's own layout changes
  const hx = StructuralHashes.of(x.btf);
  const hy = StructuralHashes.of(y.btf);
  assert.notEqual(hx.shape(x.id('item')), hy.shape(y.id('item')));
  assert.notEqual(hx.shape(x.id('item_t')), hy.shape(y.id('item_t')), 'a typedef holds its target by value');
  assert.equal(hx.shape(x.id('list')), hy.shape(y.id('list')), 'list only points at item');
  assert.equal(hx.shape(x.id('pitem')), hy.shape(y.id('pitem')), 'struct item * is struct item *');
  assert.notEqual(hx.deep(x.id('list')), hy.deep(y.id('list')), 'but list reaches item');
  assert.equal(hx.deep(x.id('int')), hy.deep(y.id('int')));
});

test('a pointer to a forward declaration has the shape of a pointer to the definition', () => {
  const mk = (fwd: boolean) => {
    const b = new BtfBuilder();
    const foo = fwd ? b.fwd('foo') : b.struct('foo', 4, []);
    const p = b.ptr(foo);
    return { btf: Btf.parse(b.build()), p, foo };
  };
  const x = mk(true);
  const y = mk(false);
  assert.equal(StructuralHashes.of(x.btf).shape(x.p), StructuralHashes.of(y.btf).shape(y.p));
  assert.notEqual(StructuralHashes.of(x.btf).shape(x.foo), StructuralHashes.of(y.btf).shape(y.foo));
});

test('hostile cycles (modifier loops, a struct holding itself) hash without hanging, independent of ids', () => {
  const mk = (constsFirst: boolean, entry: number) => {
    const b = new BtfBuilder();
    // Three CONSTs in a ring, a struct holding itself by value, and a struct holding the ring.
    const ring = constsFirst ? 1 : 3;
    const self = constsFirst ? 4 : 1;
    const holder = constsFirst ? 5 : 2;
    const addRing = () => {
      for (let i = 0; i < 3; i++) b.const(ring + ((i + 1) % 3));
    };
    if (constsFirst) addRing();
    b.struct('self', 8, [{ name: 'me', type: self, bitOffset: 0 }]);
    b.struct('holder', 8, [{ name: 'c', type: ring + entry, bitOffset: 0 }]);
    if (!constsFirst) addRing();
    return { btf: Btf.parse(b.build()), self, holder };
  };
  const x = mk(true, 0);
  const y = mk(false, 2);
  const hx = StructuralHashes.of(x.btf);
  const hy = StructuralHashes.of(y.btf);
  assert.equal(hx.shape(x.self), hy.shape(y.self));
  assert.equal(hx.shape(x.holder), hy.shape(y.holder));
  assert.equal(hx.deep(x.holder), hy.deep(y.holder));
  assert.ok(typesEquivalent(x.btf, x.holder, y.btf, y.holder));
});

test('split types hash over their base, and equal a copy of a base type', () => {
  const baseBuilder = new BtfBuilder();
  const int = baseBuilder.int('int', 4, { signed: true });
  const s = baseBuilder.struct('s', 4, [{ name: 'i', type: int, bitOffset: 0 }]);
  const p = baseBuilder.ptr(s);
  const base = Btf.parse(baseBuilder.build());
  const m = new BtfBuilder({ base });
  const copy = m.ptr(s);
  const holder = m.struct('h', 8, [{ name: 'p', type: copy, bitOffset: 0 }]);
  const baseHolder = new BtfBuilder({ base });
  const holder2 = baseHolder.struct('h', 8, [{ name: 'p', type: p, bitOffset: 0 }]);
  const split = Btf.parse(m.build(), base);
  const split2 = Btf.parse(baseHolder.build(), base);
  const h = StructuralHashes.of(split);
  assert.equal(h.shape(copy), StructuralHashes.of(base).shape(p));
  assert.equal(h.shape(holder), StructuralHashes.of(split2).shape(holder2));
  assert.ok(new TypeComparer(split, split2).equivalent(holder, holder2));
  assert.equal(StructuralHashes.of(split), h, 'computed once per blob');
});

test('TypeComparer: equal under renumbering, unequal on any layout or name difference', () => {
  const x = graph('forward');
  const y = graph('reverse', { padStrings: true });
  const z = graph('reverse', { itemField: 'w' });
  const xy = new TypeComparer(x.btf, y.btf);
  const xz = new TypeComparer(x.btf, z.btf);
  for (const n of ['int', 'list', 'plist', 'item', 'pitem', 'item_t']) {
    assert.ok(xy.equivalent(x.id(n), y.id(n)), n);
    assert.equal(xz.equivalent(x.id(n), z.id(n)), n === 'int', n);
  }
  assert.equal(xy.equivalent(x.id('list'), y.id('item')), false);
  assert.equal(xy.equivalent(0, 0), true);
  assert.equal(xy.equivalent(x.id('int'), 0), false);
  assert.equal(xy.equivalent(x.id('int'), 999), false, 'dangling ids are never equal');
});
