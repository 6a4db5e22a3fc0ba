// Every BTF verdict (DESIGN §2) reached through the real assessBtf, with the worker's real reference
// comparison and relocation, on real Debian kernel and module BTF. Synthetic bases are real bases with
// one word changed (BtfBuilder.copyOf + setWord), so they keep nr_types and str_len.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf, BtfBuilder, Kind, moduleBaseRefs } from '@btfwatch/btf';
import {
  assessBtf,
  assessBtfFromFacts,
  configFlags,
  parseKernelConfig,
  predictLoad,
  readModuleFacts,
  type AbiCheck,
  type KernelBtfSide,
  type KernelConfigFlags,
  type ModuleBtfSide,
} from '@btfwatch/compat';
import { btfAssessmentDeps } from '@btfwatch/compat';
import { RELEASES, btfFixture, fixturesDir, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';

const UPSTREAM: Record<string, string> = {
  [RELEASES.bookworm55]: '6.1.192',
  [RELEASES.bookworm56]: '6.1.192',
  [RELEASES.trixie]: '6.12.117',
  [RELEASES.sid]: '7.2.13',
};
const bases = new Map<string, Btf>();
const base = (release: string) => {
  let b = bases.get(release);
  if (!b) bases.set(release, (b = Btf.parse(vmlinuxBtf(release))));
  return b;
};
const configText = (release: string) => btfFixture(`${release}/config.xz`).toString();
const flags = (release: string) => configFlags(parseKernelConfig(configText(release)));

function kernel(release: string, over: Partial<KernelBtfSide> = {}): KernelBtfSide {
  const b = base(release);
  return {
    base: b,
    baseSha256: b.sha256,
    kernelVersion: UPSTREAM[release]!,
    flags: flags(release),
    ...over,
  };
}

/** A kernel side whose base is `btf` (a modified copy of `release`'s), with `release`'s version and config. */
function kernelWithBase(release: string, btf: Btf): KernelBtfSide {
  return { ...kernel(release), base: btf, baseSha256: btf.sha256 };
}

function module(release: string, file: string, buildBase: Btf | null): ModuleBtfSide {
  const facts = readModuleFacts(file, moduleElf(release, file));
  return {
    name: facts.name,
    btf: facts.btf,
    btfBase: facts.btfBase,
    buildBase: buildBase ? { btf: buildBase, sha256: buildBase.sha256, how: 'test' } : null,
  };
}

const deps = btfAssessmentDeps();
const ABI_OK: AbiCheck = {
  abi: 'compatible',
  vermagicMatch: true,
  reason: '',
  mismatchCount: 0,
  mismatches: [],
};

/** A copy of `release`'s vmlinux BTF with word `index` of type `id` set to `value`. */
function editedBase(release: string, id: number, index: number, value: number): Btf {
  const copy = BtfBuilder.copyOf(base(release));
  copy.setWord(id, index, value);
  return Btf.parse(copy.build());
}

function distilledModule(): ModuleBtfSide {
  const elf = execFileSync('xz', ['-dc', join(fixturesDir, 'btf-distilled', 'btfwatch_distilled.ko.xz')]);
  const facts = readModuleFacts('btfwatch_distilled.ko', elf);
  assert.ok(facts.btfBase, 'the distilled module carries .BTF.base');
  return { name: facts.name, btf: facts.btf, btfBase: facts.btfBase, buildBase: null };
}

test("identical: a module on the kernel build it came from, after the kernel's own checks pass", () => {
  const b56 = base(RELEASES.bookworm56);
  const r = assessBtf(module(RELEASES.bookworm56, 'overlay.ko', b56), kernel(RELEASES.bookworm56), deps);
  assert.equal(r.btf, 'identical');
  assert.deepEqual(r.validation, { ok: true });
  assert.equal(predictLoad(r, ABI_OK, flags(RELEASES.bookworm56)).load, 'loads-with-btf');
});

test('equivalent: a base differing only in a record no module type reaches', () => {
  const b56 = base(RELEASES.bookworm56);
  // The last FUNC: functions are referenced by nothing a module's types can reach (only DECL_TAGs point at them).
  let func = 0;
  for (let id = b56.nrTypes - 1; id > 0 && !func; id--) if (b56.raw(id).kind === Kind.Func) func = id;
  const proto = b56.raw(func).sizeOrType;
  let otherProto = 0;
  for (let id = 1; id < b56.nrTypes && !otherProto; id++)
    if (b56.raw(id).kind === Kind.FuncProto && id !== proto) otherProto = id;
  const k = editedBase(RELEASES.bookworm56, func, 2, otherProto);
  assert.notEqual(k.sha256, b56.sha256);
  assert.equal(k.nrTypes, b56.nrTypes);
  assert.equal(k.strLen, b56.strLen);

  const r = assessBtf(
    module(RELEASES.bookworm56, 'dummy.ko', b56),
    kernelWithBase(RELEASES.bookworm56, k),
    deps,
  );
  assert.equal(r.btf, 'equivalent', r.explanation);
  assert.deepEqual(r.validation, { ok: true });
  assert.ok(r.references && r.references.referencedTypes > 0, 'the module references base types');
  assert.deepEqual(r.references.changedTypeIds, []);
  assert.deepEqual(r.references.changedStringOffsets, []);
  assert.match(r.explanation, /all \d+ base types and \d+ base strings the module references mean the same/);
});

test('corrupt (changed references): same nr_types and str_len, one referenced pointer retargeted', () => {
  const b56 = base(RELEASES.bookworm56);
  const m = module(RELEASES.bookworm56, 'dummy.ko', b56);
  const refs = moduleBaseRefs(Btf.parse(m.btf!, b56));
  const ptr = [...refs.typeIds].find((id) => b56.raw(id).kind === Kind.Ptr);
  const int = [...refs.typeIds].find((id) => b56.raw(id).kind === Kind.Int);
  assert.ok(ptr && int, 'dummy.ko references a base pointer and a base int');
  assert.notEqual(b56.raw(ptr).sizeOrType, int);
  const k = editedBase(RELEASES.bookworm56, ptr, 2, int);
  assert.equal(k.nrTypes, b56.nrTypes);
  assert.equal(k.strLen, b56.strLen);

  const r = assessBtf(m, kernelWithBase(RELEASES.bookworm56, k), deps);
  assert.equal(r.btf, 'corrupt', r.explanation);
  // The kernel's own checks pass: it would load the wrong types silently.
  assert.deepEqual(r.validation, { ok: true });
  assert.deepEqual(r.kernelLog, []);
  assert.ok(r.references);
  assert.ok(r.references.changedTypeIds.includes(ptr), `type [${ptr}] is reported changed`);
  assert.deepEqual(r.references.changedStringOffsets, []);
  assert.match(r.explanation, /but \d+ referenced base types and 0 base strings resolve differently/);
  const load = predictLoad(r, ABI_OK, flags(RELEASES.bookworm56));
  assert.equal(load.load, 'loads-with-btf');
  assert.match(load.reason, /resolve wrongly/);
});

test('corrupt (counts differ): a kernel that accepts a module built on a base of another size', () => {
  // Three 6.1.0-56 modules pass 6.1.0-55's checks (test/unit/btf/validate.test.ts); their ids all shift.
  const b56 = base(RELEASES.bookworm56);
  const passing = ['crc-itu-t.ko', 'dummy.ko', 'nls_cp437.ko', 'wp512.ko', 'llc.ko']
    .map((f) => assessBtf(module(RELEASES.bookworm56, f, b56), kernel(RELEASES.bookworm55), deps))
    .filter((r) => r.btf !== 'rejected');
  assert.ok(passing.length > 0);
  for (const r of passing) {
    assert.equal(r.btf, 'corrupt', r.explanation);
    assert.match(r.explanation, /100800 types .* where the build base had 100751/);
  }
});

test('relocated: the distilled-base module on 6.12.117 (6.11+ relocates .BTF.base onto vmlinux)', () => {
  const r = assessBtf(distilledModule(), kernel(RELEASES.trixie), deps);
  assert.equal(r.btf, 'relocated', r.explanation);
  assert.deepEqual(r.validation, { ok: true });
  assert.deepEqual(r.kernelLog, []);
});

test('rejected: a 6.1.0-55 module on 6.1.0-56, with the lines 6.1.192 prints', () => {
  const r = assessBtf(
    module(RELEASES.bookworm55, 'overlay.ko', base(RELEASES.bookworm55)),
    kernel(RELEASES.bookworm56),
    deps,
  );
  assert.equal(r.btf, 'rejected');
  assert.ok(r.validation && !r.validation.ok);
  assert.equal(r.validation.errno, -22);
  assert.deepEqual(r.kernelLog, [
    'BPF: \t type_id=76 bits_offset=200',
    'BPF:  ',
    'BPF: Invalid name',
    'BPF: ',
    'failed to validate module [overlay] BTF: -22',
  ]);
  assert.equal(predictLoad(r, ABI_OK, flags(RELEASES.bookworm56)).load, 'loads-without-btf');
});

test("rejected by relocation: the distilled module on 7.2.13 prints btf_relocate's line, then -22", () => {
  const r = assessBtf(distilledModule(), kernel(RELEASES.sid), deps);
  assert.equal(r.btf, 'rejected');
  assert.ok(r.validation && !r.validation.ok);
  assert.equal(r.validation.code, 'RELOCATION_FAILED');
  assert.equal(r.validation.errno, -22);
  // libbpf 1.5 printed the same text with its "libbpf: " prefix (test/fixtures/btf-distilled/libbpf-results.txt).
  assert.deepEqual(r.kernelLog, [
    "distilled base BTF type 'mutex' [6] is not mapped to base BTF id",
    'failed to validate module [btfwatch_distilled] BTF: -22',
  ]);
  // 7.2 leaves MODULE_ALLOW_BTF_MISMATCH unset: the module does not load.
  assert.equal(predictLoad(r, ABI_OK, flags(RELEASES.sid)).load, 'fails');
});

test('unverified: accepted by the kernel, but nobody knows which base the module was built on', () => {
  const r = assessBtf(module(RELEASES.bookworm56, 'overlay.ko', null), kernel(RELEASES.bookworm56), deps);
  assert.equal(r.btf, 'unverified');
  assert.deepEqual(r.validation, { ok: true });
  assert.equal(
    predictLoad(r, ABI_OK, flags(RELEASES.bookworm56)).reason,
    'loads with BTF: the kernel accepts it',
  );
});

test('unknown kernel version: never guessed — unverified and not validated, never absent', () => {
  const m = module(RELEASES.bookworm55, 'overlay.ko', base(RELEASES.bookworm55));
  const r = assessBtf(m, kernel(RELEASES.bookworm56, { kernelVersion: null }), deps);
  assert.equal(r.btf, 'unverified');
  assert.equal(r.validation, null);
  assert.match(r.explanation, /upstream version is unknown/);
  const load = predictLoad(r, ABI_OK, flags(RELEASES.bookworm56));
  assert.equal(load.load, 'unknown');
  assert.match(load.reason, /not validated.*loads without it \(CONFIG_MODULE_ALLOW_BTF_MISMATCH=y\)/);
  const load72 = predictLoad(r, ABI_OK, flags(RELEASES.sid));
  assert.match(load72.reason, /fails to load \(CONFIG_MODULE_ALLOW_BTF_MISMATCH is not set\)/);
  // Even the kernel's own module is checked by it, and which checks run depends on the version.
  const same = assessBtf(
    module(RELEASES.bookworm56, 'overlay.ko', base(RELEASES.bookworm56)),
    kernel(RELEASES.bookworm56, { kernelVersion: null }),
    deps,
  );
  assert.equal(same.btf, 'unverified');
  assert.equal(same.validation, null);
  assert.match(
    same.explanation,
    /exactly this kernel's vmlinux BTF, but the kernel's upstream version is unknown/,
  );
});

test('absent: module without .BTF, kernel without BTF, module BTF off or unknown to the kernel', () => {
  const work = mkdtempSync(join(tmpdir(), 'btfwatch-verdict-'));
  try {
    const ko = join(work, 'dummy.ko');
    writeFileSync(ko, moduleElf(RELEASES.bookworm56, 'dummy.ko'));
    execFileSync('objcopy', ['--remove-section=.BTF', ko]);
    const stripped = readModuleFacts(ko, readFileSync(ko));
    assert.equal(stripped.btf, null);
    const noBtf = assessBtf(
      { name: stripped.name, btf: stripped.btf, btfBase: null, buildBase: null },
      kernel(RELEASES.bookworm56),
      deps,
    );
    assert.equal(noBtf.btf, 'absent');
    assert.match(noBtf.explanation, /module has no \.BTF/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const m = module(RELEASES.bookworm55, 'overlay.ko', null);
  const noKernelBtf = assessBtf(m, kernel(RELEASES.bookworm56, { base: null, baseSha256: null }), deps);
  assert.equal(noKernelBtf.btf, 'absent');
  assert.match(noKernelBtf.explanation, /kernel has no vmlinux BTF/);

  const off: KernelConfigFlags = { ...flags(RELEASES.bookworm56), DEBUG_INFO_BTF_MODULES: false };
  const ignored = assessBtf(m, kernel(RELEASES.bookworm56, { flags: off }), deps);
  assert.equal(ignored.btf, 'absent');
  assert.match(ignored.explanation, /without CONFIG_DEBUG_INFO_BTF_MODULES/);

  // A kernel whose version is known to predate module BTF (5.11) ignores it.
  const old = assessBtf(m, kernel(RELEASES.bookworm56, { kernelVersion: '5.10.200', flags: null }), deps);
  assert.equal(old.btf, 'absent');
  assert.match(old.explanation, /ignores module BTF/);
});

test('assessBtfFromFacts decides exactly what needs no module BTF bytes, as assessBtf does', () => {
  const b55 = base(RELEASES.bookworm55);
  const b56 = base(RELEASES.bookworm56);
  const facts = (m: ModuleBtfSide) => ({
    hasBtf: m.btf !== null,
    buildBaseSha256: m.buildBase?.sha256 ?? null,
  });
  const off: KernelConfigFlags = { ...flags(RELEASES.bookworm56), DEBUG_INFO_BTF_MODULES: false };
  const decided: Array<[ModuleBtfSide, KernelBtfSide, string]> = [
    [
      module(RELEASES.bookworm55, 'overlay.ko', b55),
      kernel(RELEASES.bookworm56, { kernelVersion: null }),
      'unverified',
    ],
    [
      module(RELEASES.bookworm55, 'overlay.ko', b55),
      kernel(RELEASES.bookworm56, { base: null, baseSha256: null }),
      'absent',
    ],
    [module(RELEASES.bookworm55, 'overlay.ko', b55), kernel(RELEASES.bookworm56, { flags: off }), 'absent'],
    [{ ...module(RELEASES.bookworm56, 'overlay.ko', b56), btf: null }, kernel(RELEASES.bookworm55), 'absent'],
  ];
  for (const [m, k, want] of decided) {
    const early = assessBtfFromFacts(facts(m), k);
    assert.equal(early?.btf, want);
    assert.deepEqual(early, assessBtf(m, k, deps), 'the same assessment either way');
  }
  // Everything else needs the bytes: the kernel's own base (the kernel checks even those), another base, or
  // no known base at all.
  for (const m of [
    module(RELEASES.bookworm56, 'overlay.ko', b56),
    module(RELEASES.bookworm55, 'overlay.ko', b55),
    module(RELEASES.bookworm56, 'overlay.ko', null),
    distilledModule(),
  ]) {
    assert.equal(assessBtfFromFacts(facts(m), kernel(RELEASES.bookworm56)), null);
    const same = m.buildBase?.sha256 === b56.sha256;
    assert.equal(assessBtf(m, kernel(RELEASES.bookworm56), deps).btf === 'identical', same);
  }
});
