// The relocation step of the kernel's module BTF load (btf_parse_module → btf_relocate, 6.11+), as the
// validator's relocate hook: what the kernel prints (btf_relocate.c's pr_warn lines, bare, since the
// kernel compiles libbpf's file with pr_warn = printk) and which errno reaches "failed to validate
// module [m] BTF: <errno>" (-EINVAL, or -ENOENT for an unmapped name), or the once-per-boot notice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BTF_MISMATCH_NOTICE,
  Btf,
  BtfBuilder,
  relocateModuleBtf,
  validateModuleBtf,
  type ModuleBtfVerdict,
} from '@btfwatch/btf';
import { btfAssessmentDeps } from '@btfwatch/compat';

/** A vmlinux with int, struct foo (8 bytes) and struct bar; `twoFoos` adds a second 8-byte foo. */
function vmlinux(twoFoos = false): Btf {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  b.struct('foo', 8, []);
  if (twoFoos) b.struct('foo', 8, []);
  b.struct('bar', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  return Btf.parse(b.build());
}

/** A module: distilled base (int, struct foo, plus `extra`) and split types from `addSplit`. */
function moduleBtf(
  addSplit: (split: BtfBuilder, ids: { int: number; foo: number; fooName: number }) => void,
  extra?: (dist: BtfBuilder, int: number) => void,
) {
  const dist = new BtfBuilder();
  const int = dist.int('int', 4, { signed: true });
  const foo = dist.struct('foo', 8, []);
  extra?.(dist, int);
  const fooName = dist.string('foo');
  const distBytes = dist.build();
  const split = new BtfBuilder({ base: Btf.parse(distBytes) });
  addSplit(split, { int, foo, fooName });
  return { split: split.build(), distilledBase: distBytes };
}

function load(
  m: { split: Uint8Array; distilledBase: Uint8Array },
  base: Btf,
  allowBtfMismatch = false,
): ModuleBtfVerdict {
  return validateModuleBtf(m.split, base, { kernelVersion: '6.12.117', allowBtfMismatch }, 'm', {
    distilledBase: m.distilledBase,
    relocate: btfAssessmentDeps().relocate!,
  });
}

const pointerToFoo = (s: BtfBuilder, ids: { foo: number }) => void s.ptr(ids.foo);

test('a module whose distilled types all map relocates and is kept', () => {
  const r = load(moduleBtf(pointerToFoo), vmlinux());
  assert.equal(r.ok, true);
  assert.equal(r.ok && r.btf, 'loaded');
  assert.deepEqual(r.log, []);
});

test('a name offset into the distilled strings that maps to no base name: -ENOENT, and the kernel says which', () => {
  // "oo": the tail of the distilled "foo", a valid identifier for the kernel's checks, but no type's name.
  let offset = 0;
  const m = moduleBtf((s, ids) => {
    offset = ids.fooName + 1;
    s.struct({ offset }, 4, [{ name: 'a', type: ids.int, bitOffset: 0 }]);
  });
  // libbpf prints the string at the mapped offset (0), not the unmapped one: always ''.
  const line = `string '' [offset ${offset}] is not mapped to base BTF`;
  assert.deepEqual(relocateModuleBtf({ ...m, vmlinux: vmlinux() }), {
    ok: false,
    errno: -2,
    message: line,
    log: [line],
  });
  const r = load(m, vmlinux());
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.error.code, 'RELOCATION_FAILED');
  assert.equal(r.error.errno, -2);
  assert.deepEqual(r.log, [line, 'failed to validate module [m] BTF: -2']);
  assert.equal(r.load, 'fails');
  // 6.2+ with MODULE_ALLOW_BTF_MISMATCH=y: btf_relocate's line still prints, the final line becomes the notice.
  const quiet = load(m, vmlinux(), true);
  assert.ok(!quiet.ok);
  assert.deepEqual(quiet.log, [line]);
  assert.deepEqual(quiet.onceLog, [BTF_MISMATCH_NOTICE]);
  assert.equal(quiet.load, 'loads-without-btf');
});

test("unmatched, ambiguous and invalid distilled types: -EINVAL with btf_relocate.c's own wording", () => {
  const cases: Array<[string, ReturnType<typeof moduleBtf>, Btf]> = [
    [
      "distilled base BTF type 'baz' [3] is not mapped to base BTF id",
      moduleBtf(pointerToFoo, (d) => void d.struct('baz', 4, [])),
      vmlinux(),
    ],
    [
      "distilled base BTF type 'foo' [2], size 8 has multiple candidates of the same size (ids [3, 2]) in base BTF",
      moduleBtf(pointerToFoo),
      vmlinux(true),
    ],
    // "based": the file's spelling (libbpf 1.5 and the kernel share it).
    [
      'type [3] in distilled based BTF has unexpected kind [2]',
      moduleBtf(pointerToFoo, (d, int) => void d.ptr(int)),
      vmlinux(),
    ],
    [
      'type [3], kind [4] is invalid for distilled base BTF; it is anonymous',
      moduleBtf(pointerToFoo, (d) => void d.struct(undefined, 4, [])),
      vmlinux(),
    ],
  ];
  for (const [line, m, base] of cases) {
    const r = load(m, base);
    assert.ok(!r.ok, line);
    assert.equal(r.error.errno, -22, line);
    assert.deepEqual(r.log, [line, 'failed to validate module [m] BTF: -22']);
  }
});

test('what btf_relocate walks unchecked (a member id past the last type) is a rejection without a kernel line', () => {
  const m = moduleBtf((s) => {
    s.struct('s', 8, [{ name: 'a', type: 9999, bitOffset: 0 }]);
  });
  const r = relocateModuleBtf({ ...m, vmlinux: vmlinux() });
  assert.equal(r.ok, false);
  assert.ok(!r.ok);
  assert.equal(r.errno, -22);
  assert.deepEqual(r.log, []);
  assert.match(r.message, /9999.*btf_relocate does not check this/);
});
