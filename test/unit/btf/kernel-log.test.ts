// What the kernel prints, byte for byte: names with bytes >= 0x80, lines longer than a printk record,
// and module BTF in either byte order (the kernel reads every blob in its own order and never swaps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BTF_MISMATCH_NOTICE,
  Btf,
  BtfBuilder,
  bytesToText,
  distillBase,
  kernelBtfFeatures,
  relocateModuleBtf,
  textToBytes,
  validateBaseBtf,
  validateModuleBtf,
} from '@btfwatch/btf';

/** A small base (int, struct s { int x; }) and a module over it, in the given byte order. */
function pair(littleEndian: boolean, moduleName: Uint8Array) {
  const b = new BtfBuilder({ littleEndian });
  const int = b.int('int', 4, { signed: true });
  b.struct('s', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  const base = Btf.parse(b.build());
  const m = new BtfBuilder({ base, littleEndian });
  const proto = m.funcProto(int, [{ name: 'a', type: int }]);
  // FUNC names must be identifiers: a byte the kernel's ctype does not call a letter makes it invalid.
  m.func({ offset: m.stringBytes(moduleName) }, proto);
  return { base, split: m.build(), funcId: base.nrTypes + 1 };
}

const LOUD = { kernelVersion: '6.1.192', allowBtfMismatch: false } as const;

test('a non-UTF-8 byte in a name prints as \\xNN, like /dev/kmsg; valid UTF-8 stays a character', () => {
  const name = Buffer.concat([Buffer.from([0x80]), Buffer.from('amellia_set_key')]);
  const { base, split, funcId } = pair(true, name);
  const v = validateModuleBtf(split, base, LOUD, 'camellia');
  assert.ok(!v.ok);
  assert.equal(v.log[0], `BPF: [${funcId}] FUNC \\x80amellia_set_key `);
  // Back to bytes: exactly what the kernel holds in its record.
  assert.deepEqual(
    Buffer.from(textToBytes(v.log[0]!)),
    Buffer.concat([Buffer.from(`BPF: [${funcId}] FUNC `), name, Buffer.from(' ')]),
  );
  // é (c3 a9) is valid UTF-8 but not a kernel identifier character in Latin-1 terms: c3 is 'Ã', a
  // letter, a9 is '©', not one. Printed as the character it spells.
  const { base: b2, split: s2, funcId: f2 } = pair(true, Buffer.from('caf\u00e9', 'utf8'));
  const v2 = validateModuleBtf(s2, b2, LOUD, 'm');
  assert.ok(!v2.ok);
  assert.equal(v2.log[0], `BPF: [${f2}] FUNC caf\u00e9 `);
});

test('bytesToText is reversible and never maps two byte strings to one text', () => {
  const cases = [
    Buffer.from('plain'),
    Buffer.from([0x5c, 0x78, 0x38, 0x30]), // the text "\x80" itself
    Buffer.from([0x80]),
    Buffer.from([0xc3, 0xa9, 0xff, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80, 0xc3]),
  ];
  const texts = cases.map((c) => bytesToText(c));
  assert.equal(new Set(texts).size, cases.length);
  for (const [i, c] of cases.entries()) assert.deepEqual(Buffer.from(textToBytes(texts[i]!)), c);
  // Surrogate halves encoded as UTF-8 (ed a0 80) and a cut sequence (trailing c3) are not UTF-8.
  assert.equal(texts[3], '\u00e9\\xff\\xed\\xa0\\x80\u{1f600}\\xc3');
});

test('a line longer than a printk record is cut where the booted kernel cuts it (989 bytes on 6.1, 1021 on 6.12 and 7.x)', () => {
  const long = Buffer.from(`x${'-'.repeat(1500)}`); // '-' is not an identifier character: Invalid name
  const { base, split, funcId } = pair(true, long);
  const lengths: Record<string, number> = {};
  for (const kernelVersion of ['6.1.192', '6.12.117', '7.2.13']) {
    const v = validateModuleBtf(split, base, { kernelVersion, allowBtfMismatch: false }, 'm');
    assert.ok(!v.ok);
    const line = v.log[0]!;
    assert.ok(line.startsWith(`BPF: [${funcId}] FUNC x---`), line.slice(0, 40));
    lengths[kernelVersion] = line.length;
    // The cut keeps a prefix of what the kernel formatted, nothing else.
    const full = `BPF: [${funcId}] FUNC ${long.toString('latin1')} `;
    assert.ok(full.startsWith(line));
    // The next record (the " " of the log_type pair, then the message) is unharmed.
    assert.deepEqual(v.log.slice(1), [
      `BPF: type_id=${funcId - 1}`,
      'BPF:  ',
      'BPF: Invalid name',
      'BPF: ',
      'failed to validate module [m] BTF: -22',
    ]);
  }
  assert.deepEqual(lengths, { '6.1.192': 989, '6.12.117': 1021, '7.2.13': 1021 });
  assert.equal(kernelBtfFeatures('6.1.192').printkRecordMax, 992);
  assert.equal(kernelBtfFeatures('6.3.0').printkRecordMax, 1024);
});

test('big-endian module BTF over a big-endian kernel is validated like its little-endian twin', () => {
  const bad = Buffer.from('bad-name');
  const le = pair(true, bad);
  const be = pair(false, bad);
  assert.notDeepEqual(Buffer.from(le.split), Buffer.from(be.split));
  assert.equal(be.base.header.littleEndian, false);
  for (const kernelVersion of ['6.1.192', '6.12.117', '7.2.13']) {
    for (const allowBtfMismatch of [false, true]) {
      const target = { kernelVersion, allowBtfMismatch };
      const vle = validateModuleBtf(le.split, le.base, target, 'm');
      const vbe = validateModuleBtf(be.split, be.base, target, 'm');
      assert.ok(!vle.ok && !vbe.ok);
      assert.deepEqual(vbe.log, vle.log, `${kernelVersion} ${allowBtfMismatch}`);
      assert.deepEqual(vbe.error, vle.error);
      assert.equal(vbe.error.code, 'BAD_NAME');
    }
    const good = pair(false, Buffer.from('good_name'));
    const ok = validateModuleBtf(good.split, good.base, { kernelVersion, allowBtfMismatch: false }, 'm');
    assert.ok(ok.ok && ok.btf === 'loaded', kernelVersion);
    assert.ok(validateBaseBtf(good.base.bytes, { kernelVersion }).ok);
  }
});

test('module BTF in the other byte order than the kernel is misread as the kernel would: btf_header not found', () => {
  const name = Buffer.from('good_name');
  for (const [kernelLe, moduleLe] of [
    [false, true],
    [true, false],
  ] as const) {
    const kernel = pair(kernelLe, name).base;
    const module = pair(moduleLe, name).split;
    // 6.1: every line printed; 6.12 with MODULE_ALLOW_BTF_MISMATCH=y: the header line still is (only
    // type and member lines are quiet), then the once-per-boot notice instead of "failed to validate".
    const loud = validateModuleBtf(module, kernel, LOUD, 'm');
    assert.ok(!loud.ok);
    assert.equal(loud.error.code, 'HDR_NOT_FOUND');
    assert.deepEqual(loud.log, ['BPF: btf_header not found', 'failed to validate module [m] BTF: -22']);
    const quiet = validateModuleBtf(
      module,
      kernel,
      { kernelVersion: '6.12.117', allowBtfMismatch: true },
      'm',
    );
    assert.ok(!quiet.ok);
    assert.deepEqual(quiet.log, ['BPF: btf_header not found']);
    assert.deepEqual(quiet.onceLog, [BTF_MISMATCH_NOTICE]);
    assert.equal(quiet.load, 'loads-without-btf');
  }
});

test("a distilled-base module in either byte order is parsed and relocated in the kernel's order (6.11+)", () => {
  for (const littleEndian of [true, false]) {
    // Base: int, struct s { int x; }; the module's struct m points at s, so the distilled base keeps s.
    const b = new BtfBuilder({ littleEndian });
    const int = b.int('int', 4, { signed: true });
    const s = b.struct('s', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
    const base = Btf.parse(b.build());
    const m = new BtfBuilder({ base, littleEndian });
    const ptr = m.ptr(s);
    m.struct('m', 8, [{ name: 'p', type: ptr, bitOffset: 0 }]);
    const distilled = distillBase(Btf.parse(m.build(), base));
    assert.equal(distilled.split.header.littleEndian, littleEndian);
    const target = { kernelVersion: '6.12.117', allowBtfMismatch: false };
    const v = validateModuleBtf(distilled.split.bytes, base, target, 'm', {
      distilledBase: distilled.base.bytes,
      relocate: relocateModuleBtf,
    });
    assert.ok(v.ok && v.btf === 'loaded', `${littleEndian ? 'LE' : 'BE'}: ${JSON.stringify(v)}`);
    // The same module over a kernel of the other byte order: its .BTF.base is misread first.
    const other = Btf.parse(new BtfBuilder({ littleEndian: !littleEndian }).build());
    const w = validateModuleBtf(distilled.split.bytes, other, target, 'm', {
      distilledBase: distilled.base.bytes,
      relocate: relocateModuleBtf,
    });
    assert.ok(!w.ok);
    assert.equal(w.error.blob, '.BTF.base');
    assert.equal(w.error.code, 'HDR_NOT_FOUND');
  }
});
