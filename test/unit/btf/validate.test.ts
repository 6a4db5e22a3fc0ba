// The validator on real Debian module BTF: every module is accepted by its own kernel build, and
// modules of one 6.1 build read against the other build's vmlinux are rejected with the exact lines
// the kernel printed when we booted it (see test/heavy/qemu/amd64-ground-truth.test.ts, which re-checks them live).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Btf, validateModuleBtf, type KernelTarget, type ModuleBtfVerdict } from '@btfwatch/btf';
import { ElfFile, modInfoValue, readModInfo } from '@btfwatch/elf';
import { configFlags, parseKernelConfig } from '@btfwatch/compat';
import { RELEASES, btfFixture, moduleElf, moduleNames, vmlinuxBtf } from '../../support/fixtures.ts';

/** Upstream versions of the fixture builds (package versions 6.1.192-1/-2, 6.12.117-1, 7.2.13-1). */
const UPSTREAM: Record<string, string> = {
  [RELEASES.bookworm55]: '6.1.192',
  [RELEASES.bookworm56]: '6.1.192',
  [RELEASES.trixie]: '6.12.117',
  [RELEASES.sid]: '7.2.13',
};

function target(release: string): KernelTarget {
  const flags = configFlags(parseKernelConfig(btfFixture(`${release}/config.xz`).toString()));
  return { kernelVersion: UPSTREAM[release] ?? release, allowBtfMismatch: flags.MODULE_ALLOW_BTF_MISMATCH };
}

function validate(moduleRelease: string, file: string, kernelRelease: string): ModuleBtfVerdict {
  const elf = ElfFile.parse(moduleElf(moduleRelease, file));
  const btf = elf.sectionDataByName('.BTF');
  assert.ok(btf, `${file} has .BTF`);
  const name = modInfoValue(readModInfo(elf), 'name') ?? file.replace(/\.ko$/, '');
  const distilledBase = elf.sectionDataByName('.BTF.base');
  return validateModuleBtf(btf, Btf.parse(vmlinuxBtf(kernelRelease)), target(kernelRelease), name, {
    distilledBase,
  });
}

for (const release of Object.values(RELEASES)) {
  test(`every ${release} module is accepted by its own kernel build`, () => {
    const names = moduleNames(release);
    assert.ok(names.length >= 3);
    for (const file of names) {
      const r = validate(release, file, release);
      assert.ok(r.ok, `${file}: ${r.ok ? '' : r.log.join(' | ')}`);
      assert.equal(r.btf, 'loaded', file);
    }
  });
}

/** What 6.1.0-56 (6.1.192-2) printed for each 6.1.0-55 module (qemu boot, dmesg without timestamps). */
const FIFTY_FIVE_ON_FIFTY_SIX: Record<string, string[]> = {
  'crc-itu-t.ko': ['BPF: [100751] Invalid name_offset:1794321'],
  'dummy.ko': [],
  'fuse.ko': ['BPF: \t type_id=28 bits_offset=832', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'llc.ko': ['BPF: \t type_id=20 bits_offset=0', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'nls_cp437.ko': ['BPF: [100751] FUNC 37 ', 'BPF: type_id=1', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'overlay.ko': ['BPF: \t type_id=76 bits_offset=200', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'sch_tbf.ko': ['BPF: [100755] ENUM (anon) ', 'BPF: size=4 vlen=10', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'squashfs.ko': ['BPF: \t type_id=15 bits_offset=0', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'stp.ko': ['BPF: \t type_id=20 bits_offset=0', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'udp_tunnel.ko': ['BPF: [100758] STRUCT  ', 'BPF: size=48 vlen=10', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'veth.ko': ['BPF: [100781] FUNC  ', 'BPF: type_id=24127', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
  'wp512.ko': ['BPF: \t512_mod_fini type_id=28 bits_offset=800', 'BPF:  ', 'BPF: Invalid name', 'BPF: '],
};

test('6.1.0-55 modules on the 6.1.0-56 kernel: all rejected, with the lines 6.1.192-2 prints', () => {
  assert.deepEqual(moduleNames(RELEASES.bookworm55), Object.keys(FIFTY_FIVE_ON_FIFTY_SIX).sort());
  for (const [file, lines] of Object.entries(FIFTY_FIVE_ON_FIFTY_SIX)) {
    const r = validate(RELEASES.bookworm55, file, RELEASES.bookworm56);
    assert.ok(!r.ok, `${file} must be rejected`);
    assert.equal(r.load, 'loads-without-btf', file);
    const name = file.replace(/\.ko$/, '').replace(/-/g, '_');
    assert.deepEqual(r.log, [...lines, `failed to validate module [${name}] BTF: -22`], file);
  }
  const overlay = validate(RELEASES.bookworm55, 'overlay.ko', RELEASES.bookworm56);
  assert.ok(!overlay.ok);
  assert.deepEqual(
    { code: overlay.error.code, typeId: overlay.error.typeId, kindName: overlay.error.kindName },
    { code: 'BAD_MEMBER_NAME', typeId: 100751, kindName: 'STRUCT' },
  );
  const dummy = validate(RELEASES.bookworm55, 'dummy.ko', RELEASES.bookworm56);
  assert.ok(!dummy.ok);
  assert.equal(dummy.error.code, 'DANGLING_MODIFIER', 'dummy fails silently in the type-tag pass');
});

test('6.1.0-56 modules on the 6.1.0-55 kernel: nine rejected, three pass the kernel checks', () => {
  const passed: string[] = [];
  const rejected: Record<string, string> = {};
  for (const file of moduleNames(RELEASES.bookworm56)) {
    const r = validate(RELEASES.bookworm56, file, RELEASES.bookworm55);
    if (r.ok) passed.push(file);
    else rejected[file] = `${r.error.code} [${r.error.typeId}] ${r.log.at(-1)}`;
  }
  // Passing kernel validation says nothing about correctness: these are `corrupt` or `equivalent`
  // candidates for the comparison layer, and the ground-truth test boots 55 to confirm the kernel agrees.
  assert.deepEqual(passed, ['crc-itu-t.ko', 'nls_cp437.ko', 'udp_tunnel.ko']);
  assert.deepEqual(rejected, {
    'dummy.ko': 'BAD_NAME [100814] failed to validate module [dummy] BTF: -22',
    'fuse.ko': 'BAD_NAME [100802] failed to validate module [fuse] BTF: -22',
    'llc.ko': 'BAD_NAME [100804] failed to validate module [llc] BTF: -22',
    'overlay.ko': 'BAD_MEMBER_NAME [100800] failed to validate module [overlay] BTF: -22',
    'sch_tbf.ko': 'BAD_MEMBER_NAME [100809] failed to validate module [sch_tbf] BTF: -22',
    'squashfs.ko': 'BAD_MEMBER_NAME [100800] failed to validate module [squashfs] BTF: -22',
    'stp.ko': 'BAD_NAME [100808] failed to validate module [stp] BTF: -22',
    'veth.ko': 'BAD_MEMBER_NAME [100804] failed to validate module [veth] BTF: -22',
    'wp512.ko': 'BAD_MEMBER_NAME [100800] failed to validate module [wp512] BTF: -22',
  });
});

test('cross-version reads are rejected too: 6.12 modules on 7.2 and back (quiet on 6.12, loud on 7.2)', () => {
  const on72 = validate(RELEASES.trixie, 'overlay.ko', RELEASES.sid);
  assert.ok(!on72.ok);
  assert.equal(on72.load, 'fails', 'Debian 7.x leaves MODULE_ALLOW_BTF_MISMATCH unset');
  assert.equal(on72.log.at(-1), 'failed to validate module [overlay] BTF: -22');
  const on612 = validate(RELEASES.sid, 'overlay.ko', RELEASES.trixie);
  assert.ok(!on612.ok);
  assert.equal(on612.load, 'loads-without-btf');
  assert.ok(
    !on612.log.some((l) => l.startsWith('failed to validate')),
    '6.12 with the option set prints no failure line',
  );
  assert.deepEqual(on612.onceLog, [
    'Kernel module BTF mismatch detected, BTF debug info may be unavailable for some modules',
  ]);
});
