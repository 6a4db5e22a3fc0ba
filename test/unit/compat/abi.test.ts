import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ElfFile, modInfoValue, readImportedCrcs, readModInfo } from '@btfwatch/elf';
import {
  checkAbi,
  configFlags,
  parseKernelConfig,
  parseModuleSymvers,
  predictLoad,
  type AbiKernel,
} from '@btfwatch/compat';
import { RELEASES, btfFixture, moduleElf, moduleNames } from '../../support/fixtures.ts';

function moduleFacts(release: string, name: string) {
  const elf = ElfFile.parse(moduleElf(release, name));
  return {
    vermagic: modInfoValue(readModInfo(elf), 'vermagic') ?? null,
    importedCrcs: readImportedCrcs(elf).map((c) => [c.symbol, c.crc] as const),
  };
}

function kernel(release: string, withSymvers = true): AbiKernel {
  const flags = configFlags(parseKernelConfig(btfFixture(`${release}/config.xz`).toString()));
  return {
    vermagic: moduleFacts(release, 'dummy.ko').vermagic,
    modversions: flags.MODVERSIONS,
    exports: withSymvers ? parseModuleSymvers(btfFixture(`${release}/Module.symvers.xz`).toString()) : null,
  };
}

test('real config flags: Debian 6.1 allows BTF mismatch with modversions, 7.2 has neither', () => {
  const bookworm = configFlags(parseKernelConfig(btfFixture(`${RELEASES.bookworm56}/config.xz`).toString()));
  assert.deepEqual(bookworm, {
    DEBUG_INFO_BTF: true,
    DEBUG_INFO_BTF_MODULES: true,
    MODULE_ALLOW_BTF_MISMATCH: true,
    MODVERSIONS: true,
  });
  const sid = configFlags(parseKernelConfig(btfFixture(`${RELEASES.sid}/config.xz`).toString()));
  assert.equal(sid.MODULE_ALLOW_BTF_MISMATCH, false);
  assert.equal(sid.MODVERSIONS, false);
  assert.equal(sid.DEBUG_INFO_BTF_MODULES, true);
});

test('6.1.0-55 modules are ABI-compatible with 6.1.0-56: vermagic differs only in the release, CRCs all match', () => {
  const k56 = kernel(RELEASES.bookworm56);
  assert.match(k56.vermagic ?? '', /^6\.1\.0-56-amd64 SMP preempt mod_unload modversions/);
  for (const name of moduleNames(RELEASES.bookworm55)) {
    const m = moduleFacts(RELEASES.bookworm55, name);
    assert.ok(m.importedCrcs.length > 0, `${name} carries __versions`);
    const check = checkAbi(m, k56);
    assert.equal(check.abi, 'compatible', `${name}: ${check.reason}`);
    assert.equal(check.vermagicMatch, true);
  }
});

test('a changed CRC makes the module incompatible and names the symbol', () => {
  const k56 = kernel(RELEASES.bookworm56);
  const m = moduleFacts(RELEASES.bookworm55, 'overlay.ko');
  const [first] = m.importedCrcs.filter(([s]) => s !== 'module_layout');
  const tampered = {
    ...m,
    importedCrcs: m.importedCrcs.map(([s, c]) => [s, s === first![0] ? (c ^ 1) >>> 0 : c] as const),
  };
  const check = checkAbi(tampered, k56);
  assert.equal(check.abi, 'incompatible');
  assert.equal(check.mismatchCount, 1);
  assert.deepEqual(check.mismatches[0], {
    symbol: first![0],
    moduleCrc: (first![1] ^ 1) >>> 0,
    kernelCrc: first![1],
  });
  const load = predictLoad(
    'identical',
    check,
    configFlags(parseKernelConfig(btfFixture(`${RELEASES.bookworm56}/config.xz`).toString())),
  );
  assert.equal(load.load, 'fails');
  assert.match(load.reason, /modversions CRC mismatch/);
});

test('without the kernel CRCs the ABI is unknown, and the load prediction says so', () => {
  const check = checkAbi(moduleFacts(RELEASES.bookworm55, 'dummy.ko'), kernel(RELEASES.bookworm56, false));
  assert.equal(check.abi, 'unknown');
  const flags = configFlags(parseKernelConfig(btfFixture(`${RELEASES.bookworm56}/config.xz`).toString()));
  // 56 keeps modules whose BTF it rejects (ALLOW_BTF_MISMATCH=y), but whether this one loads at all turns
  // on CRCs nobody knows: unknown, and the reason says what is missing.
  const load = predictLoad('rejected', check, flags);
  assert.equal(load.load, 'unknown');
  assert.match(load.reason, /loads without BTF.*if its symbol versions match.*CRCs are not known/);
  // A BTF rejection that fails the load whatever the CRCs (ALLOW_BTF_MISMATCH unset) is still `fails`.
  assert.equal(predictLoad('rejected', check, { ...flags, MODULE_ALLOW_BTF_MISMATCH: false }).load, 'fails');
  // Without the config a rejected BTF is unknown too, naming the option.
  const noConfig = predictLoad('rejected', check, null);
  assert.equal(noConfig.load, 'unknown');
  assert.match(noConfig.reason, /CONFIG_MODULE_ALLOW_BTF_MISMATCH=y, and the kernel's config is not known/);
});

test('6.1 modules on 7.2: vermagic mismatch fails the load; a rejected BTF without ALLOW_BTF_MISMATCH fails too', () => {
  const sidVermagic = moduleFacts(RELEASES.sid, 'dummy.ko').vermagic;
  const sid: AbiKernel = { vermagic: sidVermagic, modversions: false, exports: new Map() };
  const check = checkAbi(moduleFacts(RELEASES.bookworm55, 'dummy.ko'), sid);
  assert.equal(check.abi, 'incompatible');
  assert.equal(check.vermagicMatch, false);
  assert.equal(predictLoad('identical', check, null).load, 'fails');
  const sidFlags = configFlags(parseKernelConfig(btfFixture(`${RELEASES.sid}/config.xz`).toString()));
  const sameBuild = checkAbi({ vermagic: sidVermagic, importedCrcs: [] }, sid);
  assert.equal(predictLoad('rejected', sameBuild, sidFlags).load, 'fails');
  assert.match(predictLoad('rejected', sameBuild, sidFlags).reason, /MODULE_ALLOW_BTF_MISMATCH is not set/);
});
