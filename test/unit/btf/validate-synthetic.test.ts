// Hand-built BTF blobs: a valid split blob over a tiny base, then one defect per kernel check, each with
// the exact lines the kernel logs (formats read in kernel/bpf/btf.c of the version named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BTF_MISMATCH_NOTICE,
  Btf,
  Kind,
  kernelBtfFeatures,
  validateModuleBtf,
  type KernelTarget,
} from '@btfwatch/btf';

// ---------------------------------------------------------------- builder

const enc = new TextEncoder();

/** Builds a .BTF blob: types as u32 words, strings continuing at `strStart` (the base's str_len). */
class Blob {
  private readonly words: number[] = [];
  private strBytes: number[];
  constructor(
    private readonly strStart = 0,
    base = false,
  ) {
    this.strBytes = base ? [0] : [];
  }
  /** Absolute offset of a new string (raw bytes allowed via a number array). */
  str(s: string | number[]): number {
    const off = this.strStart + this.strBytes.length;
    this.strBytes.push(...(typeof s === 'string' ? enc.encode(s) : s), 0);
    return off;
  }
  type(
    nameOff: number,
    kind: number,
    sizeOrType: number,
    opts: { vlen?: number; kflag?: boolean; info?: number } = {},
    ...trailing: number[]
  ): this {
    const info = opts.info ?? (((opts.kflag ? 1 : 0) << 31) | (kind << 24) | (opts.vlen ?? 0)) >>> 0;
    this.words.push(nameOff, info, sizeOrType, ...trailing);
    return this;
  }
  build(
    h: Partial<{
      magic: number;
      version: number;
      flags: number;
      hdrLen: number;
      typeOff: number;
      typeLen: number;
      strOff: number;
      strLen: number;
      extra: number[];
      tail: number[];
      typeBytes: number;
      stringsFirst: boolean;
    }> = {},
  ): Uint8Array {
    const types = new Uint8Array(new Uint32Array(this.words).buffer).subarray(
      0,
      h.typeBytes ?? this.words.length * 4,
    );
    const strings = Uint8Array.from(this.strBytes);
    const extra = h.extra ?? [];
    const hdrLen = h.hdrLen ?? 24 + extra.length * 4;
    const body = h.stringsFirst ? [strings, types] : [types, strings];
    const tail = Uint8Array.from(h.tail ?? []);
    const out = new Uint8Array(hdrLen + types.length + strings.length + tail.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, h.magic ?? 0xeb9f, true);
    out[2] = h.version ?? 1;
    out[3] = h.flags ?? 0;
    v.setUint32(4, hdrLen, true);
    v.setUint32(8, h.typeOff ?? (h.stringsFirst ? strings.length : 0), true);
    v.setUint32(12, h.typeLen ?? types.length, true);
    v.setUint32(16, h.strOff ?? (h.stringsFirst ? 0 : types.length), true);
    v.setUint32(20, h.strLen ?? strings.length, true);
    extra.forEach((w, i) => v.setUint32(24 + 4 * i, w, true));
    let at = hdrLen;
    for (const part of [...body, tail]) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

// Base: [1] INT int (32-bit signed), [2] PTR -> 1. Strings "\0int\0": split strings start at 5, ids at 3.
const baseBlob = new Blob(0, true);
const intName = baseBlob.str('int');
baseBlob.type(intName, Kind.Int, 4, {}, (1 << 24) | 32).type(0, Kind.Ptr, 1);
const base = Btf.parse(baseBlob.build());
const S = base.strLen; // 5
const FIRST = base.nrTypes; // 3

const v61: KernelTarget = { kernelVersion: '6.1.192', allowBtfMismatch: false };
const v612: KernelTarget = { kernelVersion: '6.12.117', allowBtfMismatch: false };
const v72: KernelTarget = { kernelVersion: '7.2.13', allowBtfMismatch: false };

function split(): Blob {
  return new Blob(S);
}

function ok(blob: Uint8Array, target: KernelTarget = v61): void {
  const r = validateModuleBtf(blob, base, target, 'm');
  assert.ok(r.ok, `expected acceptance, got ${r.ok ? '' : `${r.error.code}: ${r.log.join(' | ')}`}`);
  assert.equal(r.btf, 'loaded');
}

function rejects(
  blob: Uint8Array,
  code: string,
  btfLines: string[],
  target: KernelTarget = v61,
  errno = -22,
) {
  const r = validateModuleBtf(blob, base, target, 'm');
  assert.ok(!r.ok, `expected ${code}, got acceptance`);
  assert.equal(r.error.code, code);
  assert.equal(r.error.errno, errno);
  assert.deepEqual(r.log, [...btfLines, `failed to validate module [m] BTF: ${errno}`]);
  return r;
}

/** The five lines btf_verifier_log_type prints: header, details, " ", message, "\n". */
function typeLines(head: string, details: readonly string[], msg: string): string[] {
  return [`BPF: ${head} `, ...details.map((d) => `BPF: ${d}`), 'BPF:  ', `BPF: ${msg}`, 'BPF: '];
}
/** The same before 5.17: "BPF:%s\n" per call, so the closing "\n" leaves an empty line. */
function legacyTypeLines(head: string, details: readonly string[], msg: string): string[] {
  return [`BPF:${head} `, ...details.map((d) => `BPF:${d}`), 'BPF: ', `BPF:${msg}`, 'BPF:', ''];
}
function basicLines(head: string, msg: string): string[] {
  return [`BPF: ${head}`, 'BPF:  ', `BPF: ${msg}`, 'BPF: '];
}

// ---------------------------------------------------------------- baseline

test('a valid split blob using every kind is accepted by 6.1, 6.12 and 7.2', () => {
  const b = split();
  const sName = b.str('s');
  const aName = b.str('a');
  const eName = b.str('E');
  const vName = b.str('v');
  const fName = b.str('f');
  const tag = b.str('tag');
  const sec = b.str('.data');
  b.type(sName, Kind.Struct, 8, { vlen: 2 }, aName, 1, 0, 0, 2, 0) // [3] struct s { int a; anonymous void * at the same offset }
    .type(0, Kind.Union, 4, { vlen: 1 }, aName, 1, 0) // [4]
    .type(eName, Kind.Enum, 4, { vlen: 1 }, eName, 7) // [5]
    .type(0, Kind.Array, 0, {}, 1, 1, 4) // [6] int[4]
    .type(sName, Kind.Fwd, 0) // [7]
    .type(vName, Kind.Typedef, 1) // [8]
    .type(0, Kind.Const, 8) // [9]
    .type(0, Kind.Volatile, 9) // [10]
    .type(0, Kind.Restrict, 2) // [11]
    .type(0, Kind.FuncProto, 1, { vlen: 2 }, aName, 1, 0, 0) // [12] int (int a, ...)
    .type(fName, Kind.Func, 12, { vlen: 1 }) // [13] global
    .type(vName, Kind.Var, 1, {}, 1) // [14]
    .type(sec, Kind.Datasec, 8, { vlen: 1 }, 14, 0, 4) // [15]
    .type(fName, Kind.Float, 8) // [16]
    .type(tag, Kind.DeclTag, 3, {}, 0) // [17] on member 0
    .type(tag, Kind.TypeTag, 1) // [18]
    .type(eName, Kind.Enum64, 8, { vlen: 1 }, eName, 1, 2); // [19]
  const blob = b.build();
  ok(blob, v61);
  ok(blob, v612);
  ok(blob, v72);
});

test('empty split BTF (no types, no strings) is valid; no .BTF at all is ignored', () => {
  ok(split().build());
  const r = validateModuleBtf(new Uint8Array(0), base, v61, 'm');
  assert.ok(r.ok);
  assert.equal(r.btf, 'ignored');
  const old = validateModuleBtf(
    split().type(0, 99, 0).build(),
    base,
    { kernelVersion: '5.10.200', allowBtfMismatch: false },
    'm',
  );
  assert.ok(old.ok && old.btf === 'ignored', 'kernels before 5.11 never look at module BTF');
});

// ---------------------------------------------------------------- btf_parse_hdr / btf_check_sec_info

test('header checks', () => {
  rejects(new Uint8Array([0x9f, 0xeb, 1, 0]), 'HDR_LEN_NOT_FOUND', ['BPF: hdr_len not found']);
  const long = split().build();
  new DataView(long.buffer).setUint32(4, 4096, true);
  rejects(long, 'HDR_NOT_FOUND', ['BPF: btf_header not found']);
  rejects(split().build({ extra: [1] }), 'HDR_UNSUPPORTED', ['BPF: Unsupported btf_header'], v61, -7);
  rejects(split().build({ magic: 0x9feb }), 'BAD_MAGIC', ['BPF: Invalid magic']);
  rejects(split().build({ version: 2 }), 'BAD_VERSION', ['BPF: Unsupported version'], v61, -524);
  rejects(split().build({ flags: 1 }), 'BAD_FLAGS', ['BPF: Unsupported flags'], v61, -524);
  ok(split().build({ extra: [0] }), v61); // a longer header is fine while its tail is zero
});

test('section layout checks', () => {
  const b = () => split().type(0, Kind.Ptr, 1);
  rejects(b().build({ strOff: 1000 }), 'SECTION_OFFSET', ['BPF: Invalid section offset']);
  rejects(b().build({ typeOff: 4, typeLen: 8, strOff: 12 }), 'SECTION_GAP', [
    'BPF: Unsupported section found',
  ]);
  rejects(b().build({ strOff: 8, typeLen: 12 }), 'SECTION_OVERLAP', ['BPF: Section overlap found']);
  rejects(b().build({ strLen: 100 }), 'SECTION_TOO_LONG', ['BPF: Total section length too long']);
  rejects(b().build({ tail: [0, 0, 0, 0] }), 'SECTION_GAP', ['BPF: Unsupported section found']);
});

// ---------------------------------------------------------------- btf_parse_str_sec

test('string section checks', () => {
  const named = split();
  named.str('x');
  const good = named.type(0, Kind.Ptr, 1);
  rejects(good.build({ stringsFirst: true }), 'STRINGS_NOT_AT_END', [
    'BPF: String section is not at the end',
  ]);
  const unterminated = split().type(0, Kind.Ptr, 1).build();
  const withString = new Uint8Array([...unterminated, 0x41]);
  new DataView(withString.buffer).setUint32(20, 1, true);
  rejects(withString, 'BAD_STRINGS', ['BPF: Invalid string section']);
});

// ---------------------------------------------------------------- btf_check_meta (common)

test('common record checks: truncation, info bits, kind, name offset', () => {
  rejects(split().type(0, Kind.Ptr, 1).build({ typeBytes: 8 }), 'META_TRUNCATED', [
    `BPF: [${FIRST}] meta_left:8 meta_needed:12`,
  ]);
  rejects(split().type(0, Kind.Ptr, 1, { info: 0x02100000 }).build(), 'BAD_INFO', [
    `BPF: [${FIRST}] Invalid btf_info:2100000`,
  ]);
  rejects(split().type(0, 20, 0).build(), 'BAD_KIND', [`BPF: [${FIRST}] Invalid kind:20`]);
  rejects(split().type(0, 0, 0).build(), 'BAD_KIND', [`BPF: [${FIRST}] Invalid kind:0`]);
  rejects(split().type(999, Kind.Ptr, 1).build(), 'BAD_NAME_OFFSET', [
    `BPF: [${FIRST}] Invalid name_offset:999`,
  ]);
});

// ---------------------------------------------------------------- per kind

test('INT checks', () => {
  const int = (size: number, data: number, opts = {}) =>
    split().type(intName, Kind.Int, size, opts, data).build();
  const head = `[${FIRST}] INT int`;
  rejects(
    split().type(intName, Kind.Int, 4).build(),
    'META_TRUNCATED',
    basicLines(head, 'meta_left:0 meta_needed:4'),
  );
  rejects(
    int(4, 32, { vlen: 1 }),
    'BAD_VLEN',
    typeLines(head, ['size=4 bits_offset=0 nr_bits=32 encoding=(none)'], 'vlen != 0'),
  );
  rejects(
    int(4, 32, { kflag: true }),
    'BAD_KIND_FLAG',
    typeLines(head, ['size=4 bits_offset=0 nr_bits=32 encoding=(none)'], 'Invalid btf_info kind_flag'),
  );
  rejects(int(4, 0x10000020), 'BAD_INT_DATA', basicLines(head, 'Invalid int_data:10000020'));
  rejects(
    int(16, (100 << 16) | 100),
    'BAD_INT_BITS',
    typeLines(head, ['size=16 bits_offset=100 nr_bits=100 encoding=(none)'], 'nr_bits exceeds 128'),
  );
  rejects(
    int(2, 32),
    'BAD_INT_BITS',
    typeLines(head, ['size=2 bits_offset=0 nr_bits=32 encoding=(none)'], 'nr_bits exceeds type_size'),
  );
  rejects(
    int(4, (3 << 24) | 32),
    'BAD_INT_ENCODING',
    typeLines(head, ['size=4 bits_offset=0 nr_bits=32 encoding=UNKN'], 'Unsupported encoding'),
    v61,
    -524,
  );
  ok(int(1, (4 << 24) | 8));
});

test('PTR / modifier / TYPEDEF checks', () => {
  const head = `[${FIRST}] PTR (anon)`;
  rejects(
    split().type(0, Kind.Ptr, 1, { vlen: 1 }).build(),
    'BAD_VLEN',
    typeLines(head, ['type_id=1'], 'vlen != 0'),
  );
  rejects(
    split().type(0, Kind.Ptr, 1, { kflag: true }).build(),
    'BAD_KIND_FLAG',
    typeLines(head, ['type_id=1'], 'Invalid btf_info kind_flag'),
  );
  rejects(
    split().type(0, Kind.Ptr, 0x100000).build(),
    'BAD_TYPE_ID',
    typeLines(head, ['type_id=1048576'], 'Invalid type_id'),
  );
  rejects(
    split().type(intName, Kind.Const, 1).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] CONST int`, ['type_id=1'], 'Invalid name'),
  );
  rejects(
    split().type(0, Kind.Typedef, 1).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] TYPEDEF (anon)`, ['type_id=1'], 'Invalid name'),
  );
  const b = split();
  const bad = b.str('1abc');
  rejects(
    b.type(bad, Kind.Typedef, 1).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] TYPEDEF 1abc`, ['type_id=1'], 'Invalid name'),
  );
});

test('TYPE_TAG and DECL_TAG checks, and kind_flag on tags by version', () => {
  rejects(
    split().type(0, Kind.TypeTag, 1).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] TYPE_TAG (anon)`, ['type_id=1'], 'Invalid name'),
  );
  rejects(
    split().type(0, Kind.DeclTag, 1, {}, 0).build(),
    'BAD_VALUE',
    typeLines(`[${FIRST}] DECL_TAG (anon)`, ['type=1 component_idx=0'], 'Invalid value'),
  );
  const tags = () => {
    const b = split();
    return { b, t: b.str('user') };
  };
  const { b: b1, t: t1 } = tags();
  rejects(
    b1.type(t1, Kind.DeclTag, 1, {}, 0xfffffffe).build(),
    'BAD_COMPONENT_IDX',
    typeLines(`[${FIRST}] DECL_TAG user`, ['type=1 component_idx=-2'], 'Invalid component_idx'),
  );
  const { b: b2, t: t2 } = tags();
  rejects(
    b2.type(t2, Kind.DeclTag, 1, { vlen: 1 }, 0).build(),
    'BAD_VLEN',
    typeLines(`[${FIRST}] DECL_TAG user`, ['type=1 component_idx=0'], 'vlen != 0'),
  );
  const { b: b3, t: t3 } = tags();
  const kflagTags = b3
    .type(t3, Kind.TypeTag, 1, { kflag: true })
    .type(t3, Kind.DeclTag, 1, { kflag: true }, 0xffffffff)
    .build();
  rejects(
    kflagTags,
    'BAD_KIND_FLAG',
    typeLines(`[${FIRST}] TYPE_TAG user`, ['type_id=1'], 'Invalid btf_info kind_flag'),
    v612,
  );
  ok(kflagTags, v72);
  const { b: b4, t: t4 } = tags();
  rejects(
    b4.type(t4, Kind.DeclTag, 1, { kflag: true }, 0).build(),
    'BAD_KIND_FLAG',
    typeLines(`[${FIRST}] DECL_TAG user`, ['type=1 component_idx=0'], 'Invalid btf_info kind_flag'),
    v61,
  );
});

test('FWD checks', () => {
  rejects(
    split().type(intName, Kind.Fwd, 1).build(),
    'BAD_TYPE_FIELD',
    typeLines(`[${FIRST}] FWD int`, ['struct'], 'type != 0'),
  );
  rejects(
    split().type(0, Kind.Fwd, 0, { kflag: true }).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] FWD (anon)`, ['union'], 'Invalid name'),
  );
  rejects(
    split().type(intName, Kind.Fwd, 0, { vlen: 2 }).build(),
    'BAD_VLEN',
    typeLines(`[${FIRST}] FWD int`, ['struct'], 'vlen != 0'),
  );
});

test('ARRAY checks', () => {
  const head = `[${FIRST}] ARRAY (anon)`;
  const d = (t: number, i: number, n: number) => [`type_id=${t} index_type_id=${i} nr_elems=${n}`];
  rejects(
    split().type(0, Kind.Array, 0, {}, 1, 1).build(),
    'META_TRUNCATED',
    basicLines(head, 'meta_left:8 meta_needed:12'),
  );
  rejects(
    split().type(intName, Kind.Array, 0, {}, 1, 1, 2).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] ARRAY int`, d(1, 1, 2), 'Invalid name'),
  );
  rejects(
    split().type(0, Kind.Array, 0, { kflag: true }, 1, 1, 2).build(),
    'BAD_KIND_FLAG',
    typeLines(head, d(1, 1, 2), 'Invalid btf_info kind_flag'),
  );
  rejects(
    split().type(0, Kind.Array, 0, { vlen: 1 }, 1, 1, 2).build(),
    'BAD_VLEN',
    typeLines(head, d(1, 1, 2), 'vlen != 0'),
  );
  rejects(
    split().type(0, Kind.Array, 8, {}, 1, 1, 2).build(),
    'BAD_SIZE',
    typeLines(head, d(1, 1, 2), 'size != 0'),
  );
  rejects(
    split().type(0, Kind.Array, 0, {}, 0, 1, 2).build(),
    'BAD_ARRAY_ELEM',
    typeLines(head, d(0, 1, 2), 'Invalid elem'),
  );
  rejects(
    split().type(0, Kind.Array, 0, {}, 1, 0, 2).build(),
    'BAD_ARRAY_INDEX',
    typeLines(head, d(1, 0, 2), 'Invalid index'),
  );
});

test('STRUCT / UNION checks, members logged with their own line', () => {
  const st = (kind: number, size: number, kflag: boolean, ...members: number[]) => {
    const b = split();
    const a = b.str('a');
    const bad = b.str('a-b');
    const words = members.map((w) => (w === -1 ? a : w === -2 ? bad : w));
    return b.type(a, kind, size, { vlen: members.length / 3, kflag }, ...words).build();
  };
  const mline = (rest: string, msg: string) => [`BPF: \t${rest}`, 'BPF:  ', `BPF: ${msg}`, 'BPF: '];
  rejects(
    split().type(0, Kind.Struct, 4, { vlen: 1 }).build(),
    'META_TRUNCATED',
    basicLines(`[${FIRST}] STRUCT (anon)`, 'meta_left:0 meta_needed:12'),
  );
  const b = split();
  const bad = b.str('a b');
  rejects(
    b.type(bad, Kind.Struct, 0).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] STRUCT a b`, ['size=0 vlen=0'], 'Invalid name'),
  );
  rejects(
    st(Kind.Struct, 4, false, 9999, 1, 0),
    'BAD_MEMBER_NAME_OFFSET',
    mline('(invalid-name-offset) type_id=1 bits_offset=0', 'Invalid member name_offset:9999'),
  );
  rejects(
    st(Kind.Struct, 4, false, -2, 1, 0),
    'BAD_MEMBER_NAME',
    mline('a-b type_id=1 bits_offset=0', 'Invalid name'),
  );
  rejects(
    st(Kind.Struct, 4, false, -1, 0, 0),
    'BAD_MEMBER_TYPE',
    mline('a type_id=0 bits_offset=0', 'Invalid type_id'),
  );
  rejects(
    st(Kind.Union, 4, false, -1, 1, 8),
    'BAD_MEMBER_OFFSET',
    mline('a type_id=1 bits_offset=8', 'Invalid member bits_offset'),
  );
  rejects(
    st(Kind.Struct, 8, false, -1, 1, 32, -1, 1, 0),
    'BAD_MEMBER_OFFSET',
    mline('a type_id=1 bits_offset=0', 'Invalid member bits_offset'),
  );
  rejects(
    st(Kind.Struct, 4, false, -1, 1, 40),
    'MEMBER_OUTSIDE_STRUCT',
    mline('a type_id=1 bits_offset=40', 'Member bits_offset exceeds its struct size'),
  );
  rejects(
    st(Kind.Struct, 4, true, -1, 1, (3 << 24) | 40),
    'MEMBER_OUTSIDE_STRUCT',
    mline('a type_id=1 bitfield_size=3 bits_offset=40', 'Member bits_offset exceeds its struct size'),
  );
  ok(st(Kind.Struct, 8, false, -1, 1, 0, -1, 1, 32, -1, 1, 64)); // "char x[0]" at the very end may sit at the size
});

test('ENUM / ENUM64 checks, and kind_flag on ENUM by version', () => {
  const en = (kind: number, size: number, opts: { kflag?: boolean } = {}, nameOf?: (b: Blob) => number) => {
    const b = split();
    const x = b.str('X');
    const entry = nameOf ? nameOf(b) : x;
    return b
      .type(x, kind, size, { vlen: 1, ...opts }, ...(kind === Kind.Enum ? [entry, 0] : [entry, 0, 0]))
      .build();
  };
  rejects(en(Kind.Enum, 3), 'BAD_SIZE', typeLines(`[${FIRST}] ENUM X`, ['size=3 vlen=1'], 'Unexpected size'));
  rejects(
    en(Kind.Enum64, 16),
    'BAD_SIZE',
    typeLines(`[${FIRST}] ENUM64 X`, ['size=16 vlen=1'], 'Unexpected size'),
  );
  rejects(
    en(Kind.Enum, 4, {}, () => 12345),
    'BAD_ENUM_NAME_OFFSET',
    ['BPF: \tInvalid name_offset:12345'],
  );
  rejects(
    en(Kind.Enum, 4, {}, () => 0),
    'BAD_NAME',
    typeLines(`[${FIRST}] ENUM X`, ['size=4 vlen=1'], 'Invalid name'),
  );
  rejects(
    en(Kind.Enum64, 4, {}, (b) => b.str('9')),
    'BAD_NAME',
    typeLines(`[${FIRST}] ENUM64 X`, ['size=4 vlen=1'], 'Invalid name'),
  );
  rejects(
    split().type(0, Kind.Enum, 4, { vlen: 1 }).build(),
    'META_TRUNCATED',
    basicLines(`[${FIRST}] ENUM (anon)`, 'meta_left:0 meta_needed:8'),
  );
  const signed = en(Kind.Enum, 4, { kflag: true });
  ok(signed, v61);
  rejects(
    signed,
    'BAD_KIND_FLAG',
    typeLines(`[${FIRST}] ENUM X`, ['size=4 vlen=1'], 'Invalid btf_info kind_flag'),
    { kernelVersion: '5.19.17', allowBtfMismatch: false },
  );
  // ENUM64 did not exist before 6.0.
  rejects(en(Kind.Enum64, 8), 'BAD_KIND', [`BPF: [${FIRST}] Invalid kind:19`], {
    kernelVersion: '5.19.17',
    allowBtfMismatch: false,
  });
});

test('FUNC_PROTO and FUNC checks', () => {
  const b = split();
  const a = b.str('a');
  const proto = b.type(intName, Kind.FuncProto, 1, { vlen: 2 }, a, 1, 0, 2).build();
  rejects(
    proto,
    'BAD_NAME',
    typeLines(`[${FIRST}] FUNC_PROTO int`, ['return=1 args=(', '1 a', ', 2 (anon)', ')'], 'Invalid name'),
  );
  rejects(
    split().type(0, Kind.FuncProto, 0, { kflag: true, vlen: 1 }, 0, 0).build(),
    'BAD_KIND_FLAG',
    typeLines(
      `[${FIRST}] FUNC_PROTO (anon)`,
      ['return=0 args=(', 'vararg', ')'],
      'Invalid btf_info kind_flag',
    ),
  );
  rejects(
    split().type(0, Kind.FuncProto, 0, { vlen: 1 }).build(),
    'META_TRUNCATED',
    basicLines(`[${FIRST}] FUNC_PROTO (anon)`, 'meta_left:0 meta_needed:8'),
  );
  rejects(
    split().type(0, Kind.Func, 1).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] FUNC (anon)`, ['type_id=1'], 'Invalid name'),
  );
  rejects(
    split().type(intName, Kind.Func, 1, { vlen: 2 }).build(),
    'BAD_FUNC_LINKAGE',
    typeLines(`[${FIRST}] FUNC int`, ['type_id=1'], 'Invalid func linkage'),
  );
  rejects(
    split().type(intName, Kind.Func, 1, { kflag: true }).build(),
    'BAD_KIND_FLAG',
    typeLines(`[${FIRST}] FUNC int`, ['type_id=1'], 'Invalid btf_info kind_flag'),
  );
});

test('VAR checks', () => {
  const head = `[${FIRST}] VAR int`;
  rejects(
    split().type(intName, Kind.Var, 1, {}, 2).build(),
    'BAD_VAR_LINKAGE',
    typeLines(head, ['type_id=1 linkage=2'], 'Linkage not supported'),
  );
  rejects(
    split().type(intName, Kind.Var, 0, {}, 0).build(),
    'BAD_TYPE_ID',
    typeLines(head, ['type_id=0 linkage=0'], 'Invalid type_id'),
  );
  rejects(
    split().type(0, Kind.Var, 1, {}, 0).build(),
    'BAD_NAME',
    typeLines(`[${FIRST}] VAR (anon)`, ['type_id=1 linkage=0'], 'Invalid name'),
  );
  rejects(
    split().type(intName, Kind.Var, 1, { vlen: 1 }, 0).build(),
    'BAD_VLEN',
    typeLines(head, ['type_id=1 linkage=0'], 'vlen != 0'),
  );
  rejects(
    split().type(intName, Kind.Var, 1).build(),
    'META_TRUNCATED',
    basicLines(head, 'meta_left:0 meta_needed:4'),
  );
});

test('DATASEC checks, secinfo lines, and section names by version', () => {
  const ds = (name: string, size: number, ...vsi: number[]) => {
    const b = split();
    const n = b.str(name);
    return b.type(n, Kind.Datasec, size, { vlen: vsi.length / 3 }, ...vsi).build();
  };
  const head = (name: string, size: number, vlen: number) =>
    [`[${FIRST}] DATASEC ${name}`, [`size=${size} vlen=${vlen}`]] as const;
  const vline = (t: number, o: number, s: number, msg: string) => [
    `BPF: \t type_id=${t} offset=${o} size=${s}`,
    'BPF:  ',
    `BPF: ${msg}`,
    'BPF: ',
  ];
  rejects(ds('.bss', 0), 'BAD_SIZE', typeLines(...head('.bss', 0, 0), 'size == 0'));
  rejects(ds('.bss', 8, 0, 0, 4), 'BAD_SECINFO_TYPE', vline(0, 0, 4, 'Invalid type_id'));
  rejects(ds('.bss', 8, 1, 8, 4), 'BAD_SECINFO_OFFSET', vline(1, 8, 4, 'Invalid offset'));
  rejects(ds('.bss', 8, 1, 0, 4, 1, 2, 4), 'BAD_SECINFO_OFFSET', vline(1, 2, 4, 'Invalid offset'));
  rejects(ds('.bss', 8, 1, 0, 0), 'BAD_SECINFO_SIZE', vline(1, 0, 0, 'Invalid size'));
  rejects(ds('.bss', 8, 1, 6, 4), 'SECINFO_OUTSIDE_SECTION', vline(1, 6, 4, 'Invalid offset+size'));
  ok(ds('.bss', 8)); // empty datasec: fine since 5.12 ...
  rejects(ds('.bss', 8), 'BAD_VLEN', legacyTypeLines(...head('.bss', 8, 0), 'vlen == 0'), {
    kernelVersion: '5.11.22',
    allowBtfMismatch: false,
  });
  rejects(
    split().type(0, Kind.Datasec, 8, { vlen: 1 }).build(),
    'META_TRUNCATED',
    basicLines(`[${FIRST}] DATASEC (anon)`, 'meta_left:0 meta_needed:12'),
  );
  // Any printable name since 6.9 (6.12 checks the first byte too); identifiers before.
  const spaced = ds('.data foo', 8, 1, 0, 4);
  rejects(spaced, 'BAD_NAME', typeLines(...head('.data foo', 8, 1), 'Invalid name'), v61);
  ok(spaced, v612);
});

test('FLOAT checks', () => {
  rejects(
    split().type(intName, Kind.Float, 3).build(),
    'BAD_SIZE',
    typeLines(`[${FIRST}] FLOAT int`, ['size=3'], 'Invalid type_size'),
  );
  rejects(
    split().type(intName, Kind.Float, 4, { kflag: true }).build(),
    'BAD_KIND_FLAG',
    typeLines(`[${FIRST}] FLOAT int`, ['size=4'], 'Invalid btf_info kind_flag'),
  );
  // FLOAT arrived in 5.13.
  rejects(split().type(intName, Kind.Float, 4).build(), 'BAD_KIND', [`BPF:[${FIRST}] Invalid kind:16`], {
    kernelVersion: '5.12.19',
    allowBtfMismatch: false,
  });
});

// ---------------------------------------------------------------- btf_check_type_tags / modifier chains

test('modifier chains: length, cycles, type-tag order by version, dangling references', () => {
  const chain = split();
  // Each CONST points at the next one, so the walk from the first sees all 33 (ids already walked end a walk).
  for (let i = 0; i < 33; i++) chain.type(0, Kind.Const, i === 32 ? 1 : FIRST + i + 1);
  rejects(chain.build(), 'MODIFIER_LOOP', ['BPF: Max chain length or cycle detected'], v61, -40);
  const shortChain = split();
  for (let i = 0; i < 32; i++) shortChain.type(0, Kind.Const, i === 31 ? 1 : FIRST + i + 1);
  ok(shortChain.build());
  rejects(
    split().type(0, Kind.Const, FIRST).build(),
    'MODIFIER_LOOP',
    ['BPF: Max chain length or cycle detected'],
    v61,
    -40,
  );
  const b = split();
  const tag = b.str('rcu');
  const tagAfterConst = b
    .type(tag, Kind.TypeTag, 1)
    .type(0, Kind.Const, FIRST)
    .type(tag, Kind.TypeTag, FIRST + 1)
    .build();
  rejects(tagAfterConst, 'TYPE_TAG_ORDER', ["BPF: Type tags don't precede modifiers"], v612);
  ok(tagAfterConst, v72);
  // A modifier pointing past the last id: the kernel returns -EINVAL and logs nothing.
  const r = rejects(split().type(0, Kind.Volatile, 500).build(), 'DANGLING_MODIFIER', []);
  assert.equal(r.error.typeId, FIRST);
  // Before 5.17 the pass did not exist.
  ok(split().type(0, Kind.Volatile, 500).build(), { kernelVersion: '5.16.20', allowBtfMismatch: false });
});

// ---------------------------------------------------------------- names and versions

test('identifier rules: dots (stable backport), KSYM_NAME_LEN, Latin-1 ctype', () => {
  const fn = (name: string | number[]) => {
    const b = split();
    return b.type(b.str(name), Kind.Func, 1).build();
  };
  const dotted = fn('foo.isra.0');
  ok(dotted, v61); // 6.1.192 has the fix
  rejects(dotted, 'BAD_NAME', typeLines(`[${FIRST}] FUNC foo.isra.0`, ['type_id=1'], 'Invalid name'), {
    kernelVersion: '6.1.20',
    allowBtfMismatch: false,
  });
  const long = fn('x'.repeat(200));
  ok(long, v61); // KSYM_NAME_LEN 512
  rejects(long, 'BAD_NAME', typeLines(`[${FIRST}] FUNC ${'x'.repeat(200)}`, ['type_id=1'], 'Invalid name'), {
    kernelVersion: '6.0.19',
    allowBtfMismatch: false,
  });
  ok(fn([0xe9, 0x74, 0xe9])); // Latin-1 "été": letters to the kernel's ctype
  rejects(fn('é'), 'BAD_NAME', typeLines(`[${FIRST}] FUNC é`, ['type_id=1'], 'Invalid name')); // UTF-8: 0xA9 is punctuation
});

test('log format by version: "BPF:" before 5.17, "BPF: " since', () => {
  const r = validateModuleBtf(
    split().type(intName, Kind.Const, 1).build(),
    base,
    { kernelVersion: '5.15.160', allowBtfMismatch: false },
    'm',
  );
  assert.ok(!r.ok);
  assert.deepEqual(r.log, [
    `BPF:[${FIRST}] CONST int `,
    'BPF:type_id=1',
    'BPF: ',
    'BPF:Invalid name',
    'BPF:',
    '',
    'failed to validate module [m] BTF: -22',
  ]);
  assert.equal(r.load, 'fails');
});

test('MODULE_ALLOW_BTF_MISMATCH: 5.18–6.1 log and load without BTF; 6.2+ stay quiet but for a once-per-boot notice', () => {
  const blob = split().type(intName, Kind.Const, 1).build();
  const r61 = validateModuleBtf(blob, base, { kernelVersion: '6.1.192', allowBtfMismatch: true }, 'm');
  assert.ok(!r61.ok);
  assert.equal(r61.load, 'loads-without-btf');
  assert.equal(r61.log.at(-1), 'failed to validate module [m] BTF: -22');
  assert.deepEqual(r61.onceLog, []);
  const r612 = validateModuleBtf(blob, base, { kernelVersion: '6.12.117', allowBtfMismatch: true }, 'm');
  assert.ok(!r612.ok);
  assert.equal(r612.load, 'loads-without-btf');
  assert.deepEqual(r612.log, []);
  assert.deepEqual(r612.onceLog, [BTF_MISMATCH_NOTICE]);
  // secinfo and plain verifier lines are not silenced
  const b = split();
  const n = b.str('.bss');
  const r612vsi = validateModuleBtf(
    b.type(n, Kind.Datasec, 8, { vlen: 1 }, 0, 0, 4).build(),
    base,
    { kernelVersion: '6.12.117', allowBtfMismatch: true },
    'm',
  );
  assert.ok(!r612vsi.ok);
  assert.deepEqual(r612vsi.log, [
    'BPF: \t type_id=0 offset=0 size=4',
    'BPF:  ',
    'BPF: Invalid type_id',
    'BPF: ',
  ]);
  const r72 = validateModuleBtf(blob, base, { kernelVersion: '7.2.13', allowBtfMismatch: false }, 'm');
  assert.ok(!r72.ok);
  assert.equal(r72.load, 'fails');
  const r515 = validateModuleBtf(blob, base, { kernelVersion: '5.15.160', allowBtfMismatch: true }, 'm');
  assert.ok(!r515.ok);
  assert.equal(r515.load, 'fails', 'the option only exists from 5.18');
});

test('7.x header: a 32-byte header with a layout section; older kernels refuse the non-zero tail', () => {
  const b = split().type(0, Kind.Ptr, 1);
  const types = 12;
  // layout section (4 bytes) after types and strings (none): layout_off = 12, layout_len = 4
  const blob = b.build({ extra: [types, 4], tail: [1, 0, 0, 0] });
  ok(blob, v72);
  rejects(blob, 'HDR_UNSUPPORTED', ['BPF: Unsupported btf_header'], v612, -7);
  // 7.x decodes 24-bit vlen and 7-bit kinds: info bits that 6.x rejects outright become a vlen.
  const wide = split().type(0, Kind.Ptr, 1, { info: 0x02010000 }).build();
  rejects(wide, 'BAD_INFO', [`BPF: [${FIRST}] Invalid btf_info:2010000`], v612);
  rejects(wide, 'BAD_VLEN', typeLines(`[${FIRST}] PTR (anon)`, ['type_id=1'], 'vlen != 0'), v72);
});

test('distilled base (.BTF.base): 6.11+ validates against it and hands over to relocation; older kernels ignore it', () => {
  const distilledBlob = new Blob(0, true);
  const n = distilledBlob.str('int');
  distilledBlob.type(n, Kind.Int, 4, {}, (1 << 24) | 32);
  const distilled = distilledBlob.build(); // 1 type, str_len 5: split ids start at 2
  const sb = new Blob(5);
  const splitBlob = sb.type(0, Kind.Ptr, 1).build();
  const pending = validateModuleBtf(splitBlob, base, v612, 'm', { distilledBase: distilled });
  assert.ok(pending.ok);
  assert.equal(pending.btf, 'relocation-pending');
  const relocated = validateModuleBtf(splitBlob, base, v612, 'm', {
    distilledBase: distilled,
    relocate: () => ({ ok: true }),
  });
  assert.ok(relocated.ok && relocated.btf === 'loaded');
  const failed = validateModuleBtf(splitBlob, base, v612, 'm', {
    distilledBase: distilled,
    relocate: () => ({
      ok: false,
      errno: -22,
      message: 'unmapped',
      log: ["distilled base BTF type 'int' [1] is not mapped to base BTF id"],
    }),
  });
  assert.ok(!failed.ok);
  assert.equal(failed.error.code, 'RELOCATION_FAILED');
  assert.deepEqual(failed.log, [
    "distilled base BTF type 'int' [1] is not mapped to base BTF id",
    'failed to validate module [m] BTF: -22',
  ]);
  // A defect in the distilled base itself is reported against .BTF.base, never silenced.
  const badBase = new Uint8Array(distilled);
  badBase[0] = 0;
  const r = validateModuleBtf(splitBlob, base, { kernelVersion: '6.12.117', allowBtfMismatch: true }, 'm', {
    distilledBase: badBase,
  });
  assert.ok(!r.ok);
  assert.equal(r.error.blob, '.BTF.base');
  assert.deepEqual(r.log, ['BPF: Invalid magic']);
  // 6.1 does not know .BTF.base: the split is read against vmlinux as is.
  const r61 = validateModuleBtf(splitBlob, base, v61, 'm', { distilledBase: distilled });
  assert.ok(r61.ok && r61.btf === 'loaded');
});

test('kernelBtfFeatures: version parsing and edges', () => {
  assert.deepEqual(kernelBtfFeatures('6.12.117+deb13-amd64').version, [6, 12, 117]);
  assert.equal(kernelBtfFeatures('6.0').maxKind, 19);
  assert.equal(kernelBtfFeatures([5, 16, 0]).maxKind, 17);
  assert.equal(kernelBtfFeatures('5.10.0').moduleBtf, false);
  assert.equal(kernelBtfFeatures('7.2.13').modifierChainCheck, 'chain-length');
  assert.throws(() => kernelBtfFeatures('linux'), RangeError);
});
