// Mutated real BTF (the 6.1 vmlinux and its modules, a distilled module) and synthetic BTF: parsing,
// decoding every type, dumping, module refs, hashing, distilling and relocating must either succeed
// or throw BtfError — never another exception, never a hang. The kernel validator (validateModuleBtf,
// with the kernel's relocation step) must always answer with a verdict, for every kernel version. Deterministic: a failure names its seed
// and case so it can be replayed with BTF_FUZZ_SEED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  BTF_MISMATCH_NOTICE,
  Btf,
  BtfBuilder,
  BtfError,
  Kind,
  StructuralHashes,
  distillBase,
  dumpRaw,
  moduleBaseRefs,
  openBtf,
  readBtfFromFile,
  relocateModuleBtf,
  relocateSplit,
  validateModuleBtf,
  type ModuleBtfVerdict,
  type Type,
} from '@btfwatch/btf';
import { RELEASES, fixturesDir, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';
import { rng } from '../../support/rng.ts';

const SEED = Number(process.env.BTF_FUZZ_SEED ?? 0x5eed);
// 2,000 here (the unit tier); test/heavy/pkg/fuzz-long runs the full 10,500 and more on request.
const CASES = Number(process.env.BTF_FUZZ_CASES ?? 2_000);

const INTERESTING = [
  0, 1, 2, 3, 4, 12, 24, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0xffffff, 0x1000000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];

/** One mutation of `src`: bit flips, byte sets, u32 overwrites (header and records), or a truncation. */
function mutate(src: Uint8Array, rand: () => number, extra: number[]): Uint8Array {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const what = Math.floor(rand() * 6);
  // Copies, never views: Buffer#slice (the fixtures are Buffers) would mutate the cached original.
  if (what === 0) return new Uint8Array(src.subarray(0, Math.floor(rand() * src.byteLength)));
  const out = new Uint8Array(src);
  const view = new DataView(out.buffer);
  const hot = () =>
    rand() < 0.3 ? Math.floor(rand() * Math.min(out.byteLength, 64)) : Math.floor(rand() * out.byteLength);
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    switch (what) {
      case 1: {
        const at = hot();
        out[at] = (out[at] as number) ^ (1 << Math.floor(rand() * 8));
        break;
      }
      case 2:
        out[hot()] = Math.floor(rand() * 256);
        break;
      case 3: {
        // A header field: hdr_len, type_off, type_len, str_off, str_len.
        const at = 4 + 4 * Math.floor(rand() * 5);
        if (at + 4 <= out.byteLength)
          view.setUint32(at, pick([...INTERESTING, ...extra, Math.floor(rand() * 2 ** 32)]) >>> 0, true);
        break;
      }
      default: {
        // A word of a record (kind/vlen in info words, ids, name offsets, sizes).
        const at = (Math.floor(rand() * Math.floor(out.byteLength / 4)) * 4) >>> 0;
        if (at + 4 <= out.byteLength)
          view.setUint32(at, pick([...INTERESTING, ...extra, Math.floor(rand() * 2 ** 32)]) >>> 0, true);
      }
    }
  }
  return out;
}

/** Touch everything a consumer could: every type, every variable part, every resolvable reference. */
function decodeAll(btf: Btf): void {
  for (let id = btf.startId; id < btf.nrTypes; id++) {
    const t: Type = btf.type(id);
    const soft = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        if (!(err instanceof BtfError)) throw err;
      }
    };
    soft(() => t.name);
    soft(() => t.toString());
    switch (t.kind) {
      case Kind.Struct:
      case Kind.Union:
        for (const m of t.members) {
          soft(() => m.name);
          soft(() => m.type);
        }
        break;
      case Kind.Enum:
      case Kind.Enum64:
        for (const v of t.values) soft(() => v.name);
        break;
      case Kind.FuncProto:
        soft(() => t.returnType);
        for (const p of t.params) {
          soft(() => p.name);
          soft(() => p.type);
        }
        break;
      case Kind.Datasec:
        t.vars.forEach((_, i) => soft(() => t.varType(i)));
        break;
      case Kind.Array:
        soft(() => t.type);
        soft(() => t.indexType);
        break;
      case Kind.Unknown:
      case Kind.Int:
      case Kind.Float:
      case Kind.Fwd:
        break;
      default:
        soft(() => t.type);
    }
  }
}

type Outcome = 'ok' | 'rejected';

function expectBtfErrorOnly(what: string, run: () => void): Outcome {
  try {
    run();
    return 'ok';
  } catch (err) {
    if (err instanceof BtfError) return 'rejected';
    throw new Error(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, {
      cause: err,
    });
  }
}

/** The whole pipeline over one (possibly mutated) blob. */
function exercise(bytes: Uint8Array, base: Btf | undefined): Outcome {
  let parsed: Btf | undefined;
  const outcome = expectBtfErrorOnly('parse', () => {
    parsed = Btf.parse(bytes, base);
  });
  if (!parsed) return outcome;
  const btf = parsed;
  // A parse that succeeded is complete: every id in its range is there.
  assert.equal(btf.nrTypes, btf.startId + btf.count);
  expectBtfErrorOnly('decode', () => decodeAll(btf));
  expectBtfErrorOnly('dump', () => void dumpRaw(btf));
  expectBtfErrorOnly('hash', () => {
    const h = StructuralHashes.of(btf);
    if (btf.count > 0) {
      h.shape(btf.startId);
      h.deep(btf.nrTypes - 1);
    }
  });
  if (btf.isSplit) {
    expectBtfErrorOnly('refs', () => void moduleBaseRefs(btf));
    if (btf.count < 3000) expectBtfErrorOnly('distill', () => void distillBase(btf));
  }
  return 'ok';
}

const base55 = Btf.parse(vmlinuxBtf(RELEASES.bookworm55));
const base56 = Btf.parse(vmlinuxBtf(RELEASES.bookworm56));
const modules = moduleNames(RELEASES.bookworm55).map(
  (n) => readBtfFromFile(moduleElf(RELEASES.bookworm55, n)).btf,
);
const extra = [
  base55.nrTypes,
  base55.nrTypes - 1,
  base55.nrTypes + 1,
  base55.strLen,
  base55.strLen - 1,
  base55.strLen + 1,
];

function synthetic(littleEndian: boolean): Uint8Array {
  const b = new BtfBuilder({ littleEndian });
  const int = b.int('int', 4, { signed: true });
  const p = b.ptr(5);
  b.struct('s', 16, [
    { name: 'a', type: int, bitOffset: 0, bitfieldSize: 3 },
    { name: 'p', type: p, bitOffset: 64 },
  ]);
  b.enum64('e', 8, [{ name: 'E', value: -1n }]);
  b.typedef('t', 3);
  const proto = b.funcProto(int, [{ name: 'x', type: p }]);
  b.func('f', proto);
  const v = b.var('v', int);
  b.datasec('.data', 4, [{ type: v, offset: 0, size: 4 }]);
  b.declTag('tag', 3, 0);
  b.typeTag('tt', p);
  b.const(b.nextId); // a modifier pointing at itself
  return b.build();
}

test(`fuzz: ${CASES} mutated blobs only ever succeed or throw BtfError`, { timeout: 120_000 }, () => {
  const rand = rng(SEED);
  const counts = { ok: 0, rejected: 0 };
  const seeds: Array<{ name: string; bytes: Uint8Array; base?: Btf; weight: number }> = [
    ...modules.map((bytes, i) => ({ name: `module ${i}`, bytes, base: base55, weight: 40 })),
    { name: 'synthetic-le', bytes: synthetic(true), weight: 60 },
    { name: 'synthetic-be', bytes: synthetic(false), weight: 60 },
    // Modules read over the other build's base: valid bytes, wrong base.
    ...modules.slice(0, 4).map((bytes, i) => ({ name: `module ${i} on 56`, bytes, base: base56, weight: 5 })),
  ];
  const total = seeds.reduce((n, s) => n + s.weight, 0);
  for (let i = 0; i < CASES; i++) {
    let r = rand() * total;
    const seed = seeds.find((s) => (r -= s.weight) < 0) ?? (seeds[0] as (typeof seeds)[number]);
    const bytes = mutate(seed.bytes, rand, extra);
    try {
      counts[exercise(bytes, seed.base)]++;
    } catch (err) {
      assert.fail(`seed ${SEED} case ${i} (${seed.name}): ${(err as Error).message}`);
    }
  }
  // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
  assert.ok(counts.ok > CASES / 20, `parsed ${counts.ok}`);
  assert.ok(counts.rejected > CASES / 20, `rejected ${counts.rejected}`);
});

test('fuzz: mutated vmlinux BTF (header, records, truncation)', { timeout: 120_000 }, () => {
  const rand = rng(SEED ^ 0xa5a5);
  const bytes = base55.bytes;
  let ok = 0;
  for (let i = 0; i < 8; i++) {
    try {
      if (exercise(mutate(bytes, rand, extra), undefined) === 'ok') ok++;
    } catch (err) {
      assert.fail(`seed ${SEED} vmlinux case ${i}: ${(err as Error).message}`);
    }
  }
  assert.ok(ok >= 1);
});

test('fuzz: mutated distilled base and split relocate or throw BtfError', { timeout: 120_000 }, () => {
  const rand = rng(SEED ^ 0x3c3c);
  const pairs = modules.slice(0, 6).map((bytes) => {
    const d = distillBase(openBtf({ format: 'raw', btf: bytes, looksSplit: true }, base55));
    return { base: d.base.bytes, split: d.split.bytes };
  });
  let relocated = 0;
  for (let i = 0; i < 600; i++) {
    const pair = pairs[i % pairs.length] as (typeof pairs)[number];
    const mutateBase = rand() < 0.5;
    const distBytes = mutateBase ? mutate(pair.base, rand, []) : pair.base;
    const splitBytes = mutateBase ? pair.split : mutate(pair.split, rand, []);
    try {
      expectBtfErrorOnly('relocate', () => {
        const dist = Btf.parse(distBytes);
        const split = Btf.parse(splitBytes, dist);
        const r = relocateSplit(split, rand() < 0.5 ? base55 : base56);
        decodeAll(r.btf);
        relocated++;
      });
    } catch (err) {
      assert.fail(`seed ${SEED} relocation case ${i}: ${(err as Error).message}`);
    }
  }
  assert.ok(relocated > 10, `relocated ${relocated}`);
});

/** What validateModuleBtf may answer; anything else (or a throw) is a bug. */
const ERRNOS = new Set([-22, -7, -40, -524, -2]);
function checkVerdict(v: ModuleBtfVerdict, allow: boolean): 'ok' | 'rejected' {
  assert.ok(Array.isArray(v.log) && v.log.every((l) => typeof l === 'string'));
  if (v.ok) {
    assert.ok(['loaded', 'relocation-pending', 'ignored'].includes(v.btf), v.btf);
    return 'ok';
  }
  assert.match(v.error.code, /^[A-Z_]+$/);
  assert.ok(ERRNOS.has(v.error.errno), `errno ${v.error.errno}`);
  assert.ok(v.error.blob === '.BTF' || v.error.blob === '.BTF.base');
  assert.equal(typeof v.error.message, 'string');
  assert.ok(v.load === 'fails' || v.load === 'loads-without-btf');
  const quiet = allow && v.features.quietMismatch;
  if (quiet) assert.deepEqual(v.onceLog, [BTF_MISMATCH_NOTICE]);
  else assert.equal(v.log.at(-1), `failed to validate module [m] BTF: ${v.error.errno}`);
  return 'rejected';
}

test(
  'fuzz: mutated real module BTF through the kernel validator gives a verdict, never a throw',
  { timeout: 60_000 },
  () => {
    const rand = rng(SEED ^ 0x7a11);
    const versions = ['5.15.160', '6.1.192', '6.12.117', '7.2.13'];
    const bases = [base55, base56];
    const counts = { ok: 0, rejected: 0 };
    const cases = Math.max(200, Math.floor(CASES / 7));
    for (let i = 0; i < cases; i++) {
      const seed = modules[i % modules.length] as Uint8Array;
      const bytes = mutate(seed, rand, extra);
      const version = versions[Math.floor(rand() * versions.length)] as string;
      const allow = rand() < 0.5;
      const vmlinux = bases[Math.floor(rand() * bases.length)] as Btf;
      try {
        counts[
          checkVerdict(
            validateModuleBtf(bytes, vmlinux, { kernelVersion: version, allowBtfMismatch: allow }, 'm'),
            allow,
          )
        ]++;
      } catch (err) {
        assert.fail(`seed ${SEED} validator case ${i} (${version}): ${(err as Error).message}`);
      }
    }
    assert.ok(counts.ok > cases / 20, `accepted ${counts.ok}`);
    assert.ok(counts.rejected > cases / 20, `rejected ${counts.rejected}`);
  },
);

test(
  'fuzz: a mutated distilled-base module through validation and the kernel relocation step',
  { timeout: 60_000 },
  () => {
    const rand = rng(SEED ^ 0x0d15);
    const elf = execFileSync('xz', ['-dc', join(fixturesDir, 'btf-distilled', 'btfwatch_distilled.ko.xz')]);
    const file = readBtfFromFile(elf);
    assert.ok(file.distilledBase);
    const trixie = Btf.parse(vmlinuxBtf(RELEASES.trixie));
    const counts = { ok: 0, rejected: 0 };
    for (let i = 0; i < 80; i++) {
      const which = rand() < 0.5;
      const split = which ? mutate(file.btf, rand, []) : file.btf;
      const distilledBase = which ? file.distilledBase : mutate(file.distilledBase, rand, []);
      const allow = rand() < 0.5;
      try {
        const v = validateModuleBtf(
          split,
          trixie,
          { kernelVersion: '6.12.117', allowBtfMismatch: allow },
          'm',
          { distilledBase, relocate: relocateModuleBtf },
        );
        counts[checkVerdict(v, allow)]++;
      } catch (err) {
        assert.fail(`seed ${SEED} distilled validator case ${i}: ${(err as Error).message}`);
      }
    }
    assert.ok(counts.ok > 0 && counts.rejected > 0, JSON.stringify(counts));
  },
);
