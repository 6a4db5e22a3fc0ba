// The ABI from the image alone: the exported symbols and CRCs read out of a real Debian vmlinuz (and its
// modules) are exactly those its headers package's Module.symvers lists; `check --kernel <vmlinuz>` then knows
// the ABI of modules that import only vmlinux symbols without any headers. Whole pinned packages (cached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModuleSymvers, readModuleFacts, readVmlinuxExports } from '@btfwatch/compat';
import { decompressModule, extractVmlinux } from '@btfwatch/pkg';
import { runCli } from '../../support/cli.ts';
import { extractFromDeb, pinnedPackage } from '../../support/qemu/boot.ts';
import { tempDir } from '../../support/services.ts';

for (const [release, version] of [
  ['6.1.0-55-amd64', '6.1.192-1'],
  ['6.1.0-56-amd64', '6.1.192-2'],
] as const) {
  test(
    `${release}: the CRCs in the image and its modules are its Module.symvers`,
    { timeout: 300_000 },
    async () => {
      const work = tempDir();
      try {
        const image = pinnedPackage(`linux-image-${release}-unsigned_${version}`);
        const headers = pinnedPackage(`linux-headers-${release}_${version}`);
        const [vmlinuz] = extractFromDeb(image, work.path, ['./boot/vmlinuz-*']);
        const modules = extractFromDeb(image, work.path, [
          './lib/modules/*/kernel/net/802/*.ko',
          './lib/modules/*/kernel/net/llc/*.ko',
          './lib/modules/*/kernel/fs/fat/*.ko',
        ]);
        const [symversPath] = extractFromDeb(headers, work.path, ['./usr/src/*/Module.symvers']);
        const symvers = parseModuleSymvers(readFileSync(symversPath!, 'utf8'));

        const vmlinux = await extractVmlinux(readFileSync(vmlinuz!));
        const exports = readVmlinuxExports(vmlinux)!;
        const listed = [...symvers].filter(([, s]) => s.module === 'vmlinux');
        assert.equal(exports.length, listed.length, 'every vmlinux export, no more');
        assert.ok(exports.length > 10_000);
        for (const e of exports) {
          const s = symvers.get(e.symbol);
          assert.ok(s, `${e.symbol} is in Module.symvers`);
          assert.equal(e.crc, s.crc, e.symbol);
          assert.equal(e.exportType, s.exportType, e.symbol);
        }
        let moduleExports = 0;
        for (const path of modules) {
          const facts = readModuleFacts(path, await decompressModule(path, readFileSync(path)));
          for (const e of facts.exportedCrcs ?? []) {
            moduleExports++;
            assert.equal(e.crc, symvers.get(e.symbol)?.crc, `${path}: ${e.symbol}`);
          }
        }
        assert.ok(moduleExports > 10, `modules export too (${moduleExports} checked)`);
      } finally {
        work.remove();
      }
    },
  );
}

test(
  'check --kernel <vmlinuz> DIR: the ABI from the image, a directory of modules, a summary line',
  { timeout: 300_000 },
  () => {
    const work = tempDir();
    try {
      const k56 = pinnedPackage('linux-image-6.1.0-56-amd64-unsigned_6.1.192-2');
      const [vmlinuz] = extractFromDeb(k56, work.path, ['./boot/vmlinuz-*']);
      const [config] = extractFromDeb(k56, work.path, ['./boot/config-*']);
      const mods = join(work.path, 'mods');
      extractFromDeb(pinnedPackage('linux-image-6.1.0-55-amd64-unsigned_6.1.192-1'), mods, [
        './lib/modules/*/kernel/drivers/net/dummy.ko',
        './lib/modules/*/kernel/net/802/stp.ko',
        './lib/modules/*/kernel/net/llc/llc.ko',
      ]);
      const r = runCli(['check', '--kernel', vmlinuz!, '--config', config!, '--json', mods]);
      assert.equal(r.status, 1, r.stderr);
      const results = JSON.parse(r.stdout) as Array<{
        module: string;
        verdict: string;
        load: string;
        abi: string;
      }>;
      const by = new Map(results.map((x) => [x.module, x]));
      assert.deepEqual([...by.keys()].sort(), ['dummy', 'llc', 'stp']);
      // dummy and llc import only vmlinux symbols: their ABI is known from the image, and 56 keeps them without BTF.
      for (const m of ['dummy', 'llc']) {
        assert.equal(by.get(m)!.abi, 'compatible', m);
        assert.equal(by.get(m)!.load, 'loads-without-btf', m);
      }
      // stp imports llc's exports, which the image alone does not list: unknown, not guessed.
      assert.equal(by.get('stp')!.abi, 'unknown');
      const text = runCli(['check', '--kernel', vmlinuz!, '--config', config!, mods]);
      assert.match(
        text.stdout,
        /^3 modules: 3 rejected; load: 2 loads-without-btf, 1 unknown; abi: 2 compatible, 1 unknown$/m,
      );
    } finally {
      work.remove();
    }
  },
);
