// Base-pair diffs and module references on the real 6.1.0-55/56 builds, checked against what
// bpftool prints: a type's record differs exactly when bpftool's line for it differs (names by
// content, ids as numbers), and a module's base references are the small ids bpftool prints.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Btf,
  BtfBuilder,
  Kind,
  StructuralHashes,
  TypeComparer,
  checkModuleRefs,
  diffBases,
  diffNamedTypes,
  moduleBaseRefs,
  openBtf,
  readBtfFromFile,
} from '@btfwatch/btf';
import { RELEASES, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';

const BPFTOOL = existsSync('/usr/sbin/bpftool') ? '/usr/sbin/bpftool' : 'bpftool';
const work = mkdtempSync(join(tmpdir(), 'btfwatch-btf-diff-'));
after(() => rmSync(work, { recursive: true, force: true }));

const a = Btf.parse(vmlinuxBtf(RELEASES.bookworm55));
const b = Btf.parse(vmlinuxBtf(RELEASES.bookworm56));
const aPath = join(work, 'a.btf');
const bPath = join(work, 'b.btf');
writeFileSync(aPath, a.bytes);
writeFileSync(bPath, b.bytes);

interface DumpedType {
  text: string;
  refs: number[];
}

/** bpftool's raw dump split per type: the record's text and the ids it prints. */
function bpftoolTypes(file: string, base?: string): Map<number, DumpedType> {
  const args = [...(base ? ['-B', base] : []), 'btf', 'dump', 'file', file, 'format', 'raw'];
  const out = execFileSync(BPFTOOL, args, { maxBuffer: 1 << 30, encoding: 'latin1' });
  const types = new Map<number, DumpedType>();
  let current: DumpedType | undefined;
  for (const line of out.split('\n')) {
    const head = /^\[(\d+)\] /.exec(line);
    if (head) {
      current = { text: '', refs: [] };
      types.set(Number(head[1]), current);
    }
    if (!current) continue;
    // A DATASEC entry names its variable in parentheses: that is the variable's record, not this one's.
    current.text += line.replace(/ \((\w+) '.*'\)$/, '') + '\n';
    for (const m of line.matchAll(/\b(?:type_id|ret_type_id|index_type_id)=(\d+)/g))
      current.refs.push(Number(m[1]));
  }
  return types;
}

test('diffBases(55, 56) equals the fixed point computed from bpftool dumps', () => {
  const da = bpftoolTypes(aPath);
  const db = bpftoolTypes(bPath);
  const common = Math.min(a.nrTypes, b.nrTypes);
  assert.equal(da.size, a.nrTypes - 1);
  const changed = new Set<number>();
  const referrers = new Map<number, number[]>();
  for (let id = 1; id < common; id++) {
    const x = da.get(id) as DumpedType;
    if (x.text !== db.get(id)?.text) changed.add(id);
    for (const r of x.refs) {
      if (r >= common) changed.add(id);
      else if (r > 0) referrers.set(r, [...(referrers.get(r) ?? []), id]);
    }
  }
  const queue = [...changed];
  while (queue.length > 0) {
    for (const r of referrers.get(queue.pop() as number) ?? []) {
      if (!changed.has(r)) {
        changed.add(r);
        queue.push(r);
      }
    }
  }
  const d = diffBases(a, b);
  assert.equal(d.sameLayout, false, '55 and 56 differ in nr_types and str_len');
  const ours = [...d.changedTypeIds];
  const theirs = [...changed].sort((x, y) => x - y);
  assert.equal(ours.length, theirs.length);
  assert.deepEqual(ours, theirs);
  assert.ok(ours.length > 0 && ours.length < common - 1);
});

test("module base refs equal the base ids in bpftool's dump of every 6.1 module", () => {
  for (const name of moduleNames(RELEASES.bookworm55)) {
    const elf = moduleElf(RELEASES.bookworm55, name);
    const path = join(work, name);
    writeFileSync(path, elf);
    const split = openBtf(readBtfFromFile(elf), a);
    const refs = moduleBaseRefs(split);
    const expected = new Set<number>();
    for (const t of bpftoolTypes(path, aPath).values())
      for (const r of t.refs) if (r > 0 && r < split.startId) expected.add(r);
    assert.deepEqual(
      [...refs.typeIds],
      [...expected].sort((x, y) => x - y),
      name,
    );
    // Every base string offset used resolves to the name bpftool printed for it somewhere.
    for (const off of refs.stringOffsets) assert.ok(off > 0 && off < a.strLen);
  }
});

test('the headline case: overlay.ko of 55 on 56 is not equivalent; on its own base it is', () => {
  const overlay = openBtf(readBtfFromFile(moduleElf(RELEASES.bookworm55, 'overlay.ko')), a);
  const refs = moduleBaseRefs(overlay);
  const cross = checkModuleRefs(refs, diffBases(a, b));
  assert.equal(cross.sameLayout, false);
  assert.equal(cross.equivalent, false);
  assert.ok(cross.changedTypeIds.length > 0, 'overlay references base types whose meaning differs on 56');
  const self = checkModuleRefs(refs, diffBases(a, a));
  assert.equal(self.equivalent, true);
});

/**
 * The `corrupt` case on real data: a copy of the 55 base with the same nr_types and str_len but one
 * struct member pointing at another type. Modules that reach it must be flagged, the rest must not.
 */
test('a same-size base with one member retargeted flags exactly the modules that reach it', () => {
  const overlay = openBtf(readBtfFromFile(moduleElf(RELEASES.bookworm55, 'overlay.ko')), a);
  const overlayRefs = moduleBaseRefs(overlay);
  // Pick a struct overlay references directly and retarget its first member.
  const target = [...overlayRefs.typeIds].find((id) => {
    const t = a.type(id);
    return t.kind === Kind.Struct && t.members.length > 0;
  }) as number;
  assert.ok(target);
  // BtfBuilder.copyOf reproduces the real base byte for byte; setWord retargets one member.
  const builder = BtfBuilder.copyOf(a);
  assert.ok(Buffer.from(builder.build()).equals(Buffer.from(a.bytes)), 'copyOf reproduces the vmlinux BTF');
  const memberType = (a.raw(target).trailingU32(1) as number) === 1 ? 2 : 1;
  builder.setWord(target, 3 + 1, memberType); // first member's type word
  const patched = builder.build();
  const c = Btf.parse(patched);
  assert.equal(c.nrTypes, a.nrTypes);
  assert.equal(c.strLen, a.strLen);
  const d = diffBases(a, c);
  assert.equal(d.sameLayout, true);
  assert.equal(d.recordChanged, 1);
  assert.ok(d.isTypeChanged(target));
  const check = checkModuleRefs(overlayRefs, d);
  assert.equal(check.sameLayout, true);
  assert.equal(check.equivalent, false);
  assert.ok(check.changedTypeIds.includes(target));
  // Soundness against exact deep comparison: an id the diff calls unchanged is deeply equal.
  const cmp = new TypeComparer(a, c);
  let flagged = 0;
  for (const name of moduleNames(RELEASES.bookworm55)) {
    const split = openBtf(readBtfFromFile(moduleElf(RELEASES.bookworm55, name)), a);
    const refs = moduleBaseRefs(split);
    const res = checkModuleRefs(refs, d);
    if (!res.equivalent) flagged++;
    for (const id of refs.typeIds) {
      if (!d.isTypeChanged(id))
        assert.ok(cmp.equivalent(id, id), `${name}: [${id}] unchanged by the diff but not deeply equal`);
    }
  }
  assert.ok(flagged >= 1 && flagged < moduleNames(RELEASES.bookworm55).length, `flagged ${flagged}`);
});

test('named-type diff 55 vs 56 agrees with exact deep comparison on uniquely named structs', () => {
  const nd = diffNamedTypes(a, b);
  const { counts } = nd;
  assert.ok(counts.unchanged > 50000, `unchanged ${counts.unchanged}`);
  assert.equal(counts.changed, nd.changed.length);
  assert.equal(counts.added + counts.removed + counts.changed + counts.unchanged > 0, true);
  const ha = StructuralHashes.of(a);
  const hb = StructuralHashes.of(b);
  const unique = (btf: Btf) => {
    const seen = new Map<string, number>();
    for (let id = 1; id < btf.nrTypes; id++) {
      const r = btf.raw(id);
      if (r.kind !== Kind.Struct || !r.nameOff) continue;
      const n = btf.name(id);
      seen.set(n, seen.has(n) ? -1 : id);
    }
    return seen;
  };
  const ua = unique(a);
  const ub = unique(b);
  const cmp = new TypeComparer(a, b);
  let checked = 0;
  for (const [name, idA] of ua) {
    const idB = ub.get(name);
    if (idA < 0 || idB === undefined || idB < 0) continue;
    if (checked++ % 25 !== 0) continue; // a sample: each failed comparison can walk much of the graph
    const equal = cmp.equivalent(idA, idB);
    const sameShape = ha.shape(idA) === hb.shape(idB);
    if (equal) assert.ok(sameShape, `struct ${name}: deeply equal but shapes differ`);
    if (!sameShape) assert.ok(!equal, `struct ${name}: shapes differ but deeply equal`);
  }
  assert.ok(checked > 1000);
});

test('named-type diff across releases (6.12 → 7.2) accounts for every name', () => {
  const x = Btf.parse(vmlinuxBtf(RELEASES.trixie));
  const y = Btf.parse(vmlinuxBtf(RELEASES.sid));
  const nd = diffNamedTypes(x, y);
  const keys = (btf: Btf) => {
    const s = new Set<string>();
    for (let id = 1; id < btf.nrTypes; id++)
      if (btf.raw(id).nameOff) s.add(`${btf.raw(id).kind}:${btf.name(id)}`);
    return s;
  };
  const kx = keys(x);
  const ky = keys(y);
  assert.equal(nd.counts.removed + nd.counts.changed + nd.counts.unchanged, kx.size);
  assert.equal(nd.counts.added + nd.counts.changed + nd.counts.unchanged, ky.size);
  for (const e of nd.added) assert.ok(!kx.has(`${e.kind}:${e.name}`) && ky.has(`${e.kind}:${e.name}`));
  for (const e of nd.removed) assert.ok(kx.has(`${e.kind}:${e.name}`) && !ky.has(`${e.kind}:${e.name}`));
  assert.ok(nd.counts.added > 0 && nd.counts.removed > 0 && nd.counts.changed > 0);
});
