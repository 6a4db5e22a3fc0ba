// Ground truth outside amd64: boot Debian's arm64 (little-endian) and s390x (big-endian) kernels under
// QEMU/TCG, load their own build's modules and another build's, and hold everything btfwatch predicts
// against what the kernel did: the base BTF read out of the shipped image equals /sys/kernel/btf/vmlinux,
// own modules keep their BTF, other-build modules are rejected with exactly the dmesg lines predicted —
// by the validator and by `btfwatch check --kernel <image>` as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BTF_MISMATCH_NOTICE,
  Btf,
  relocateModuleBtf,
  validateModuleBtf,
  type ModuleBtfVerdict,
} from '@btfwatch/btf';
import { configFlags, kernelVersionFromBanner, parseKernelConfig } from '@btfwatch/compat';
import { ElfFile, modInfoValue, readModInfo } from '@btfwatch/elf';
import { readKernelImage } from '@btfwatch/pkg';
import { runCli } from '../../support/cli.ts';
import {
  ARM64,
  ARM64_OTHER,
  S390X,
  S390X_OTHER,
  archConfig,
  archModuleElf,
  archModules,
  build,
  shippedImage,
} from '../../support/images.ts';
import { bootWithModules, requireTools, type GuestArch } from '../../support/qemu/boot.ts';

interface Module {
  file: string;
  path: string;
  name: string;
  bytes: Buffer;
}

function modules(release: string): Module[] {
  // dummy, nls_cp437 and overlay depend on nothing else: any order loads.
  return archModules(release).map(({ file, path }) => {
    const bytes = archModuleElf(release, file);
    const name = modInfoValue(readModInfo(ElfFile.parse(bytes)), 'name') ?? file.replace(/\.ko$/, '');
    return { file, path, name, bytes };
  });
}

/** The lines of dmesg that module BTF validation produces. */
const btfLines = (dmesg: string[]) =>
  dmesg.filter(
    (l) =>
      l.startsWith('BPF:') ||
      l.startsWith('failed to validate module') ||
      l.startsWith('Kernel module BTF mismatch'),
  );

const CASES: Array<{ arch: GuestArch; release: string; other: string }> = [
  { arch: 'arm64', release: ARM64, other: ARM64_OTHER },
  { arch: 's390x', release: S390X, other: S390X_OTHER },
];

for (const c of CASES) {
  test(`${c.arch} ${c.release} booted: its BTF is what the image reader found; its own modules keep BTF; ${c.other}'s are rejected with the predicted lines`, async () => {
    requireTools(c.arch);
    const b = build(c.release);
    const image = shippedImage(b);
    const read = await readKernelImage(readFileSync(image));
    assert.ok(read.btf && read.banner);
    const base = Btf.parse(read.btf);
    const version = kernelVersionFromBanner(read.banner)!.version;
    const flags = configFlags(parseKernelConfig(archConfig(c.release)));
    const target = { kernelVersion: version, allowBtfMismatch: flags.MODULE_ALLOW_BTF_MISMATCH };
    const predict = (m: Module): ModuleBtfVerdict => {
      const elf = ElfFile.parse(m.bytes);
      return validateModuleBtf(elf.sectionDataByName('.BTF')!, base, target, m.name, {
        distilledBase: elf.sectionDataByName('.BTF.base'),
        relocate: relocateModuleBtf,
      });
    };
    const own = modules(c.release);
    const other = modules(c.other);
    const boot = bootWithModules(
      image,
      [
        {
          label: 'own',
          modules: own.map((m) => [m.file, m.bytes]),
          unload: own.map((m) => m.name).reverse(),
        },
        { label: 'other', modules: other.map((m) => [m.file, m.bytes]) },
      ],
      { arch: c.arch, timeoutMs: 300_000 },
    );
    console.log(`${c.arch} boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);

    // The base identity: the booted kernel serves exactly the bytes read out of its shipped image.
    assert.equal(boot.vmlinuxSha256, createHash('sha256').update(read.btf).digest('hex'));
    assert.equal(boot.vmlinuxSha256, b.btfSha256);

    const [ownRun, otherRun] = boot.phases;
    assert.ok(ownRun && otherRun);
    for (const m of own) {
      assert.equal(ownRun.loads.get(m.file), 0, `${m.file} loads`);
      assert.ok(ownRun.btf.includes(m.name), `/sys/kernel/btf/${m.name} exists`);
      const p = predict(m);
      assert.ok(p.ok && p.btf === 'loaded', `validator accepts ${m.file}`);
    }
    const expected: string[] = [];
    const once = new Set<string>();
    for (const m of other) {
      assert.equal(otherRun.loads.get(m.file), 0, `${m.file} loads (MODULE_ALLOW_BTF_MISMATCH=y)`);
      assert.ok(!otherRun.btf.includes(m.name), `${m.name}: no /sys/kernel/btf entry`);
      const p = predict(m);
      assert.ok(!p.ok, `validator rejects ${c.other} ${m.file}`);
      assert.equal(p.load, 'loads-without-btf');
      expected.push(...p.log);
      // pr_warn_once: the first rejected module of the boot prints it, no later one.
      for (const l of p.onceLog) {
        if (once.has(l)) continue;
        once.add(l);
        expected.push(l);
      }
    }
    assert.deepEqual([...once], [BTF_MISMATCH_NOTICE]);
    assert.ok(expected.some((l) => /^BPF: \[\d+\] Invalid name_offset:\d+$/.test(l)));
    assert.deepEqual(btfLines(boot.dmesg), expected);

    // The same through the CLI, as a user asks it about the shipped image and the .ko.xz files.
    const work = mkdtempSync(join(tmpdir(), `btfwatch-${c.arch}-`));
    const config = join(work, 'config');
    writeFileSync(config, archConfig(c.release));
    const cli = runCli([
      'check',
      '--kernel',
      image,
      '--config',
      config,
      '--json',
      ...other.map((m) => m.path),
    ]);
    assert.equal(cli.status, 1, cli.stderr);
    const results = JSON.parse(cli.stdout) as Array<{ verdict: string; explanation: string; log: string[] }>;
    // Loading at all turns on CRCs (no --symvers, no symbol table in a raw image); BTF-wise it loads without.
    assert.ok(results.every((r) => r.verdict === 'rejected' && /loads without BTF/.test(r.explanation)));
    // The CLI reports the once-per-boot notice with every module; the boot prints it after the first.
    const cliLines = results.flatMap((r, i) =>
      i === 0 ? r.log : r.log.filter((l) => l !== BTF_MISMATCH_NOTICE),
    );
    assert.deepEqual(cliLines, expected);
    const ownCli = runCli([
      'check',
      '--kernel',
      image,
      '--build-base',
      image,
      '--config',
      config,
      '--json',
      ...own.map((m) => m.path),
    ]);
    assert.equal(ownCli.status, 0, ownCli.stderr);
    assert.ok(
      (JSON.parse(ownCli.stdout) as Array<{ verdict: string }>).every((r) => r.verdict === 'identical'),
    );
  });
}
