// Real module BTF of other architectures through the kernel-faithful validator: s390x is big-endian,
// arm64 little-endian; each kernel reads module BTF in its own byte order. Same-build modules load
// with BTF; another build's are rejected at their first string offset past the kernel's strings
// (booted-kernel lines: test/heavy/qemu/arch-ground-truth.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BTF_MISMATCH_NOTICE, Btf, relocateModuleBtf, validateModuleBtf } from '@btfwatch/btf';
import { ElfFile } from '@btfwatch/elf';
import { configFlags, parseKernelConfig } from '@btfwatch/compat';
import {
  ARM64,
  ARM64_OTHER,
  S390X,
  S390X_OTHER,
  archConfig,
  archModuleElf,
  archModules,
  archVmlinuxBtf,
} from '../../support/images.ts';

const KERNELS = [
  { release: ARM64, version: '6.12.117', other: ARM64_OTHER, littleEndian: true },
  { release: S390X, version: '6.12.107', other: S390X_OTHER, littleEndian: false },
] as const;

function moduleBtf(release: string, file: string): Uint8Array {
  const btf = ElfFile.parse(archModuleElf(release, file)).sectionDataByName('.BTF');
  assert.ok(btf && btf.length > 0, `${release} ${file} has .BTF`);
  return btf;
}

for (const k of KERNELS) {
  test(`${k.release}: its own modules load with BTF, ${k.other}'s are rejected (both byte orders as the kernel reads them)`, () => {
    const base = Btf.parse(archVmlinuxBtf(k.release));
    assert.equal(base.header.littleEndian, k.littleEndian);
    const flags = configFlags(parseKernelConfig(archConfig(k.release)));
    assert.equal(flags.MODULE_ALLOW_BTF_MISMATCH, true, 'Debian 6.12 allows BTF mismatches');
    const target = { kernelVersion: k.version, allowBtfMismatch: flags.MODULE_ALLOW_BTF_MISMATCH };
    for (const { file } of archModules(k.release)) {
      const btf = moduleBtf(k.release, file);
      assert.equal(btf[0] === 0x9f, k.littleEndian, `${file} is in the kernel's byte order`);
      const v = validateModuleBtf(btf, base, target, file, { relocate: relocateModuleBtf });
      assert.ok(v.ok && v.btf === 'loaded', `${file}: ${JSON.stringify(v)}`);
      assert.deepEqual(v.log, []);
    }
    for (const { file } of archModules(k.other)) {
      const name = file.replace(/\.ko$/, '');
      const btf = moduleBtf(k.other, file);
      const quiet = validateModuleBtf(btf, base, target, name, { relocate: relocateModuleBtf });
      assert.ok(!quiet.ok, `${k.other} ${file} is rejected`);
      assert.equal(quiet.load, 'loads-without-btf');
      assert.deepEqual(quiet.onceLog, [BTF_MISMATCH_NOTICE]);
      assert.ok(!quiet.log.some((l) => l.startsWith('failed to validate')));
      const loud = validateModuleBtf(btf, base, { ...target, allowBtfMismatch: false }, name);
      assert.ok(!loud.ok);
      assert.equal(loud.load, 'fails');
      assert.equal(loud.log.at(-1), `failed to validate module [${name}] BTF: -22`);
      assert.ok(loud.error.typeId! >= base.nrTypes, "the first bad type is the module's own");
    }
  });
}

test('module BTF of the other byte order is misread, as the kernel would: s390x modules on arm64 and back', () => {
  for (const [kernel, version, modules] of [
    [ARM64, '6.12.117', S390X],
    [S390X, '6.12.107', ARM64],
  ] as const) {
    const base = Btf.parse(archVmlinuxBtf(kernel));
    for (const { file } of archModules(modules)) {
      const v = validateModuleBtf(
        moduleBtf(modules, file),
        base,
        { kernelVersion: version, allowBtfMismatch: false },
        'm',
      );
      assert.ok(!v.ok);
      assert.equal(v.error.code, 'HDR_NOT_FOUND');
      assert.deepEqual(v.log, ['BPF: btf_header not found', 'failed to validate module [m] BTF: -22']);
    }
  }
});
