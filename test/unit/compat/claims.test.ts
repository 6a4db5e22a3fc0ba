// What a verdict does not take on trust: a build base someone names is confirmed against the module's BTF
// before it counts, and a module built against exactly the kernel's BTF still goes through the kernel's
// checks. Real Debian 6.1 kernel and module BTF (test/fixtures/btf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf } from '@btfwatch/btf';
import {
  btfAssessmentDeps,
  configFlags,
  judgeModule,
  misplacedBaseReferences,
  parseKernelConfig,
  readModuleFacts,
  type BuildBase,
  type KernelFacts,
} from '@btfwatch/compat';
import { RELEASES, btfFixture, moduleElf, vmlinuxBtf } from '../../support/fixtures.ts';

const deps = btfAssessmentDeps();
const base = (release: string) => Btf.parse(vmlinuxBtf(release));
const b55 = base(RELEASES.bookworm55);
const b56 = base(RELEASES.bookworm56);

function kernel56(): KernelFacts {
  const flags = configFlags(parseKernelConfig(btfFixture(`${RELEASES.bookworm56}/config.xz`).toString()));
  return {
    btf: { base: b56, baseSha256: b56.sha256, kernelVersion: '6.1.192', flags },
    abi: { vermagic: null, modversions: true, exports: null },
  };
}

const facts = (release: string, file: string) => readModuleFacts(file, moduleElf(release, file));
const claim = (btf: Btf): BuildBase => ({ btf, sha256: btf.sha256, how: 'given', claimed: true });

test("a build base given for another build's modules is refuted, and the module judged as of unknown base", () => {
  // 55's overlay with 56 named as its build base, on 56: taken on trust this was "identical".
  const judged = judgeModule(
    { ...facts(RELEASES.bookworm55, 'overlay.ko'), buildBase: claim(b56) },
    kernel56(),
    deps,
  );
  assert.equal(judged.btf, 'rejected');
  assert.equal(judged.assessment.refutedBuildBase?.sha256, b56.sha256);
  assert.match(judged.assessment.refutedBuildBase!.reason, /does not validate against it/);
  assert.match(judged.explanation, /build base given .* is not the module's/);
  assert.equal(
    judged.evidence.buildBase?.sha256,
    b56.sha256,
    'the claim is still shown, with its refutation',
  );
  assert.ok('refutedBuildBase' in judged.evidence);
  // The kernel's own lines are those of a module whose base is unknown: the real rejection.
  assert.ok(
    judged.assessment.kernelLog.some((l) => l.startsWith('failed to validate module [overlay] BTF: -22')),
  );
});

test('a true build base claim is confirmed and used', () => {
  const judged = judgeModule(
    { ...facts(RELEASES.bookworm55, 'overlay.ko'), buildBase: claim(b55) },
    kernel56(),
    deps,
  );
  assert.equal(judged.assessment.refutedBuildBase, undefined);
  assert.equal(judged.btf, 'rejected');
  assert.equal(judged.evidence.buildBase?.sha256, b55.sha256);
  const own = judgeModule(
    { ...facts(RELEASES.bookworm56, 'veth.ko'), buildBase: claim(b56) },
    kernel56(),
    deps,
  );
  assert.equal(own.btf, 'identical');
});

test("identical is reached only through the kernel's checks: a malformed .BTF on its own base is rejected", () => {
  const good = facts(RELEASES.bookworm56, 'dummy.ko');
  const own: BuildBase = { btf: b56, sha256: b56.sha256, how: 'same-build' };
  assert.equal(judgeModule({ ...good, buildBase: own }, kernel56(), deps).btf, 'identical');
  // Section offsets 0xffffffff: what `inspect` calls BTF_TRUNCATED, and the kernel refuses.
  const broken = new Uint8Array(good.btf!);
  new DataView(broken.buffer).setUint32(8, 0xffffffff, true);
  const judged = judgeModule({ ...good, btf: broken, buildBase: own }, kernel56(), deps);
  assert.equal(judged.btf, 'rejected');
  assert.match(judged.explanation, /although it was built against exactly this kernel's BTF/);
  assert.equal(judged.assessment.validation?.ok, false);
  // Random bytes behind a valid magic, likewise.
  const random = new Uint8Array(good.btf!.byteLength);
  for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24;
  random.set(good.btf!.subarray(0, 4));
  assert.equal(judgeModule({ ...good, btf: random, buildBase: own }, kernel56(), deps).btf, 'rejected');
});

test("a module's references into its own base all land on the right kinds; into another base, many do not", () => {
  for (const file of ['overlay.ko', 'fuse.ko', 'veth.ko']) {
    const btf = facts(RELEASES.bookworm56, file).btf!;
    assert.equal(misplacedBaseReferences(Btf.parse(btf, b56)).count, 0, `${file} on its own base`);
    const wrong = misplacedBaseReferences(Btf.parse(btf, b55));
    assert.ok(wrong.count > 0, `${file} read over 55's base`);
    assert.ok(wrong.examples.every((e) => e.target < b55.nrTypes && e.typeId >= b55.nrTypes));
  }
});

test('6.12 with MODULE_ALLOW_BTF_MISMATCH=y rejects quietly: the explanation says so instead of quoting a line it does not print', () => {
  const trixie = Btf.parse(vmlinuxBtf(RELEASES.trixie));
  const flags = configFlags(parseKernelConfig(btfFixture(`${RELEASES.trixie}/config.xz`).toString()));
  assert.equal(flags.MODULE_ALLOW_BTF_MISMATCH, true);
  const kernel: KernelFacts = {
    btf: { base: trixie, baseSha256: trixie.sha256, kernelVersion: '6.12.117', flags },
    abi: { vermagic: null, modversions: true, exports: null },
  };
  const judged = judgeModule({ ...facts(RELEASES.bookworm55, 'overlay.ko'), buildBase: null }, kernel, deps);
  assert.equal(judged.btf, 'rejected');
  assert.ok(!judged.assessment.kernelLog.some((l) => l.startsWith('failed to validate module')));
  assert.ok(judged.assessment.onceLog.some((l) => l.startsWith('Kernel module BTF mismatch detected')));
  assert.match(judged.explanation, /once-per-boot mismatch notice/);
  assert.doesNotMatch(judged.explanation, /it logs "failed to validate/);
});
