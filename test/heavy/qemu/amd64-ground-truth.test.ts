// Ground truth: boot real Debian kernels under QEMU, load fixture modules with finit_module (vermagic
// and modversions ignored), and hold the validator's predictions against what the kernel did:
// /sys/kernel/btf/<module> present or not, and dmesg's "BPF:" / "failed to validate module" lines.
// Fails loudly when qemu, busybox-static, cpio, gcc or the pinned kernel packages are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Btf, Kind, relocateModuleBtf, validateModuleBtf, type ModuleBtfVerdict } from '@btfwatch/btf';
import { ElfFile, modInfoValue, readModInfo } from '@btfwatch/elf';
import { assessBtf, configFlags, parseKernelConfig, readModuleFacts, readVmlinuxBtf } from '@btfwatch/compat';
import { extractVmlinux } from '@btfwatch/pkg';
import { moduleWithFuncName } from '../../support/crafted-module.ts';
import {
  RELEASES,
  btfFixture,
  fixturesDir,
  moduleElf,
  moduleNames,
  vmlinuxBtf,
} from '../../support/fixtures.ts';
import {
  bootWithModules,
  extractFromDeb,
  extractVmlinuz,
  modulesFromDeb,
  pinnedPackage,
  requireTools,
  type Phase,
} from '../../support/qemu/boot.ts';

interface Module {
  file: string;
  name: string;
  depends: string[];
  bytes: Uint8Array;
}

function modules(release: string): Module[] {
  return ordered(moduleNames(release).map((file) => [file, moduleElf(release, file)]));
}

function ordered(files: Iterable<[string, Uint8Array]>): Module[] {
  const all = [...files].map(([file, bytes]) => {
    const info = readModInfo(ElfFile.parse(bytes));
    const name = modInfoValue(info, 'name') ?? file.replace(/\.ko$/, '').replace(/-/g, '_');
    const depends = (modInfoValue(info, 'depends') ?? '').split(',').filter(Boolean);
    return { file, name, depends, bytes };
  });
  // Dependencies first (stp needs llc); modules outside the fixture set are built into the kernel or absent.
  const byName = new Map(all.map((m) => [m.name, m]));
  const ordered: Module[] = [];
  const visit = (m: Module, path: string[]) => {
    if (ordered.includes(m)) return;
    if (path.includes(m.name)) throw new Error(`dependency cycle ${path.join(' -> ')}`);
    for (const d of m.depends) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, m.name]);
    }
    ordered.push(m);
  };
  for (const m of all) visit(m, []);
  return ordered;
}

function predict(m: Module, kernelRelease: string, kernelVersion: string): ModuleBtfVerdict {
  const elf = ElfFile.parse(m.bytes);
  const btf = elf.sectionDataByName('.BTF');
  assert.ok(btf, `${m.file} has .BTF`);
  const flags = configFlags(parseKernelConfig(btfFixture(`${kernelRelease}/config.xz`).toString()));
  return validateModuleBtf(
    btf,
    Btf.parse(vmlinuxBtf(kernelRelease)),
    { kernelVersion, allowBtfMismatch: flags.MODULE_ALLOW_BTF_MISMATCH },
    m.name,
    { distilledBase: elf.sectionDataByName('.BTF.base'), relocate: relocateModuleBtf },
  );
}

/** The out-of-tree module with a distilled base (.BTF.base), built against 6.12.117's headers. */
function distilledModule(): [string, Uint8Array] {
  const bytes = execFileSync('xz', ['-dc', join(fixturesDir, 'btf-distilled', 'btfwatch_distilled.ko.xz')]);
  return ['btfwatch_distilled.ko', bytes];
}

/**
 * The distilled module with its BTF edited in place (same sizes; still loads where the original does)
 * so that btf_relocate fails: `einval` renames the distilled 'mutex' to 'mutey', which vmlinux lacks;
 * `enoent` points a module struct's name at "utex", the tail of the distilled "mutex", a string offset
 * no distilled type's name maps.
 */
function brokenDistilledModule(how: 'einval' | 'enoent'): [string, Uint8Array] {
  const [, original] = distilledModule();
  const bytes = new Uint8Array(original);
  const elf = ElfFile.parse(bytes);
  const baseSec = elf.section('.BTF.base');
  const splitSec = elf.section('.BTF');
  assert.ok(baseSec && splitSec);
  const dist = Btf.parse(bytes.slice(baseSec.offset, baseSec.offset + baseSec.size));
  let mutex = 0;
  for (let id = 1; id < dist.nrTypes && !mutex; id++) if (dist.name(id) === 'mutex') mutex = id;
  const nameOff = dist.raw(mutex).nameOff;
  const view = new DataView(bytes.buffer);
  if (how === 'einval') {
    const at = baseSec.offset + dist.header.hdrLen + dist.header.strOff + nameOff + 'mute'.length;
    assert.equal(bytes[at], 'x'.charCodeAt(0));
    bytes[at] = 'y'.charCodeAt(0);
  } else {
    const split = Btf.parse(bytes.slice(splitSec.offset, splitSec.offset + splitSec.size), dist);
    let target = 0;
    for (let id = split.startId; id < split.nrTypes && !target; id++)
      if (split.raw(id).kind === Kind.Struct && split.raw(id).nameOff) target = id;
    const at = splitSec.offset + split.header.hdrLen + split.header.typeOff + split.recordOffset(target);
    view.setUint32(at, nameOff + 1, true);
  }
  return [`btfwatch_distilled-${how}.ko`, bytes];
}

/** btf_relocate.c's pr_warn lines, printed bare by 6.11+ kernels relocating a module's .BTF.base. */
const RELOCATE_LINE =
  /^(distilled base BTF type '|base BTF id \[\d+\] maps to|type \[\d+\](, kind| in distilled based BTF)|string '.*' \[offset \d+\] is not mapped)/;

/** The lines of dmesg that module BTF validation produces. */
function btfLines(dmesg: string[]): string[] {
  return dmesg.filter(
    (l) =>
      l.startsWith('BPF:') ||
      l.startsWith('failed to validate module') ||
      l.startsWith('Kernel module BTF mismatch') ||
      RELOCATE_LINE.test(l),
  );
}

/**
 * The release's own overlay.ko with a FUNC whose name the kernel prints and rejects: one starting with
 * byte 0x80 (dmesg shows the raw byte; we write it \x80), one of 1500 bytes (longer than a printk record).
 */
function craftedModules(release: string): Module[] {
  const base = Btf.parse(vmlinuxBtf(release));
  const ko = moduleElf(release, 'overlay.ko');
  const names: Array<[string, Buffer]> = [
    ['overlay-x80.ko', Buffer.concat([Buffer.from([0x80]), Buffer.from('amellia_set_key')])],
    ['overlay-long.ko', Buffer.from('x'.repeat(1500))],
  ];
  return names.map(([file, name]) => ({
    file,
    name: 'overlay',
    depends: [],
    bytes: moduleWithFuncName(ko, base, name),
  }));
}

const phase = (label: string, mods: Module[], unload: boolean): Phase => ({
  label,
  modules: mods.map((m) => [m.file, m.bytes]),
  ...(unload ? { unload: [...mods].reverse().map((m) => m.name) } : {}),
});

test('6.1.0-56 (6.1.192-2) kernel: its own modules load with BTF, 6.1.0-55 modules load without it, dmesg as predicted', () => {
  requireTools();
  const vmlinuz = extractVmlinuz(
    pinnedPackage('linux-image-6.1.0-56-amd64-unsigned'),
    mkdtempSync(join(tmpdir(), 'k56-')),
  );
  const own = modules(RELEASES.bookworm56);
  const other = modules(RELEASES.bookworm55);
  const crafted = craftedModules(RELEASES.bookworm56);
  const boot = bootWithModules(vmlinuz, [
    ...crafted.map((m) => phase(m.file, [m], true)),
    phase('own', own, true),
    phase('other', other, false),
  ]);
  console.log(`6.1.0-56 boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);
  const [x80Run, longRun, ownRun, otherRun] = boot.phases;
  assert.ok(x80Run && longRun && ownRun && otherRun);

  // What the kernel prints for a non-UTF-8 name and for a line longer than its printk record.
  const expected: string[] = [];
  for (const [m, run] of [
    [crafted[0]!, x80Run],
    [crafted[1]!, longRun],
  ] as const) {
    assert.equal(run.loads.get(m.file), 0, `${m.file} loads without BTF`);
    assert.ok(!run.btf.includes('overlay'));
    const p = predict(m, RELEASES.bookworm56, '6.1.192');
    assert.ok(!p.ok && p.error.code === 'BAD_NAME');
    expected.push(...p.log, ...p.onceLog);
  }
  assert.match(expected[0]!, /^BPF: \[\d+\] FUNC \\x80amellia_set_key $/);
  const long = expected.find((l) => l.includes('xxxx'))!;
  assert.equal(long.length, 989, '6.1 cuts a record after 989 bytes');

  for (const m of own) {
    assert.equal(ownRun.loads.get(m.file), 0, `${m.file} loads`);
    assert.ok(ownRun.btf.includes(m.name), `/sys/kernel/btf/${m.name} exists`);
    const p = predict(m, RELEASES.bookworm56, '6.1.192');
    assert.ok(p.ok && p.btf === 'loaded', `validator accepts ${m.file}`);
    assert.equal(ownRun.unloads.get(m.name), 0, `${m.name} unloads`);
  }

  for (const m of other) {
    assert.equal(otherRun.loads.get(m.file), 0, `${m.file} loads (MODULE_ALLOW_BTF_MISMATCH=y)`);
    assert.ok(!otherRun.btf.includes(m.name), `${m.name} has no /sys/kernel/btf entry`);
    const p = predict(m, RELEASES.bookworm56, '6.1.192');
    assert.ok(!p.ok, `validator rejects ${m.file}`);
    assert.equal(p.load, 'loads-without-btf');
    expected.push(...p.log, ...p.onceLog);
  }
  assert.deepEqual(otherRun.btf, ['vmlinux']);
  // Every BTF line of the boot, in order: the crafted modules', none from own modules, then the other build's.
  assert.deepEqual(btfLines(boot.dmesg), expected);
});

test('6.1.0-55 (6.1.192-1) kernel with 6.1.0-56 modules: the kernel keeps exactly the BTF the validator accepts', () => {
  requireTools();
  const vmlinuz = extractVmlinuz(
    pinnedPackage('linux-image-6.1.0-55-amd64-unsigned'),
    mkdtempSync(join(tmpdir(), 'k55-')),
  );
  const mods = modules(RELEASES.bookworm56);
  const boot = bootWithModules(vmlinuz, [phase('other', mods, false)]);
  console.log(`6.1.0-55 boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);
  const [run] = boot.phases;
  assert.ok(run);
  const expected: string[] = [];
  const kept: string[] = [];
  for (const m of mods) {
    assert.equal(run.loads.get(m.file), 0, `${m.file} loads`);
    const p = predict(m, RELEASES.bookworm55, '6.1.192');
    assert.equal(run.btf.includes(m.name), p.ok, `${m.name}: kernel kept BTF iff the validator accepts it`);
    if (p.ok) kept.push(m.name);
    else expected.push(...p.log, ...p.onceLog);
  }
  // These pass the kernel's checks while their ids point into a different vmlinux: not proof of correctness.
  assert.deepEqual(kept.sort(), ['crc_itu_t', 'nls_cp437', 'udp_tunnel']);
  assert.deepEqual(btfLines(boot.dmesg), expected);
});

test("6.12.117 kernel with 6.12.107 modules: MODULE_ALLOW_BTF_MISMATCH=y, and 6.12 prints only a once-per-boot notice; a .BTF.base module is relocated, or rejected with btf_relocate's own line", () => {
  requireTools();
  const work = mkdtempSync(join(tmpdir(), 'k612-'));
  const vmlinuz = extractVmlinuz(pinnedPackage('linux-image-6.12.117+deb13-amd64-unsigned'), join(work, 'k'));
  const files = ['dummy.ko', 'nls_cp437.ko', 'overlay.ko'];
  const mods = ordered([
    ...modulesFromDeb(pinnedPackage('linux-image-6.12.107+deb13-amd64-unsigned'), join(work, 'm'), files),
    distilledModule(),
  ]);
  // Then the same module twice more with BTF that fails relocation (one name each way), one per phase.
  const broken = (['einval', 'enoent'] as const).map((how) => ordered([brokenDistilledModule(how)]));
  const boot = bootWithModules(vmlinuz, [
    { ...phase('other', mods, false), unload: ['btfwatch_distilled'] },
    { ...phase('einval', broken[0]!, true) },
    { ...phase('enoent', broken[1]!, true) },
  ]);
  console.log(`6.12.117 boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);
  const lines: string[] = [];
  const once = new Set<string>();
  let rejected = 0;
  const predictions = [mods, ...broken].map((set, i) => {
    const run = boot.phases[i];
    assert.ok(run);
    return set.map((m) => {
      assert.equal(run.loads.get(m.file), 0, `${m.file} loads`);
      const p = predict(m, RELEASES.trixie, '6.12.117');
      assert.equal(run.btf.includes(m.name), p.ok, `${m.file}: kernel kept BTF iff the validator accepts it`);
      if (!p.ok) {
        rejected++;
        assert.equal(p.load, 'loads-without-btf');
        lines.push(...p.log);
        for (const l of p.onceLog) {
          if (once.has(l)) continue; // pr_warn_once: only the first rejected module of the boot prints it
          once.add(l);
          lines.push(l);
        }
      }
      return p;
    });
  });
  assert.ok(rejected > 2, 'at least one 6.12.107 module is rejected by 6.12.117');
  assert.ok(
    boot.phases[0]?.btf.includes('btfwatch_distilled'),
    'the .BTF.base module keeps its relocated BTF',
  );
  const [einval, enoent] = [predictions[1]![0]!, predictions[2]![0]!];
  assert.ok(!einval.ok && !enoent.ok);
  assert.deepEqual([einval.error.errno, enoent.error.errno], [-22, -2]);
  assert.match(einval.log[0] ?? '', /^distilled base BTF type 'mutey' \[\d+\] is not mapped to base BTF id$/);
  assert.match(enoent.log[0] ?? '', /^string '' \[offset \d+\] is not mapped to base BTF$/);
  // The kernel printed btf_relocate's lines exactly as predicted, in order, among the others.
  assert.deepEqual(btfLines(boot.dmesg), lines);
});

test('7.2.13 amd64 kernel with 7.2.13 cloud-amd64 modules: no MODULE_ALLOW_BTF_MISMATCH, so rejected modules fail to load', () => {
  requireTools();
  const work = mkdtempSync(join(tmpdir(), 'k72-'));
  const vmlinuz = extractVmlinuz(pinnedPackage('linux-binary-unsigned-7.2.13+deb14-amd64'), join(work, 'k'));
  const files = ['dummy.ko', 'nls_cp437.ko', 'overlay.ko'];
  // btfwatch_distilled.ko is not among them: built for 6.12, it needs __mutex_init, which 7.2 does not
  // export, so finit_module fails with -ENOENT before the kernel reads its BTF.
  const mods = ordered(
    modulesFromDeb(pinnedPackage('linux-modules-7.2.13+deb14-cloud-amd64'), join(work, 'm'), files),
  );
  const crafted = craftedModules(RELEASES.sid);
  const boot = bootWithModules(vmlinuz, [
    ...crafted.map((m) => phase(m.file, [m], false)),
    phase('other', mods, false),
  ]);
  console.log(`7.2.13 boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);
  const run = boot.phases.at(-1);
  assert.ok(run);
  const lines: string[] = [];
  crafted.forEach((m, i) => {
    assert.equal(boot.phases[i]!.loads.get(m.file), -22, `${m.file}: rejected BTF fails the load on 7.2`);
    const p = predict(m, RELEASES.sid, '7.2.13');
    assert.ok(!p.ok && p.load === 'fails');
    lines.push(...p.log, ...p.onceLog);
  });
  assert.match(lines[0]!, /^BPF: \[\d+\] FUNC \\x80amellia_set_key $/);
  assert.equal(lines.find((l) => l.includes('xxxx'))!.length, 1021, '7.x cuts a record after 1021 bytes');
  let rejected = 0;
  for (const m of mods) {
    const p = predict(m, RELEASES.sid, '7.2.13');
    if (p.ok) {
      assert.equal(run.loads.get(m.file), 0, `${m.file} loads`);
      assert.ok(run.btf.includes(m.name), `${m.name} has BTF`);
      continue;
    }
    rejected++;
    assert.equal(p.load, 'fails');
    assert.equal(run.loads.get(m.file), -22, `${m.file}: finit_module fails with EINVAL`);
    assert.ok(!run.btf.includes(m.name));
    lines.push(...p.log, ...p.onceLog);
  }
  assert.ok(rejected > 0, 'at least one cloud-amd64 module is rejected by the amd64 kernel');
  assert.deepEqual(btfLines(boot.dmesg), lines);
});

test('6.12.107 kernel with a .BTF.base module built for 6.12.117: relocated onto a base it was not built on', async () => {
  requireTools();
  const work = mkdtempSync(join(tmpdir(), 'k612107-'));
  const deb = pinnedPackage('linux-image-6.12.107+deb13-amd64-unsigned');
  const vmlinuz = extractVmlinuz(deb, work);
  const [config] = extractFromDeb(deb, work, ['./boot/config-*']);
  assert.ok(config, '6.12.107 ships its config');
  const vmlinuxBtf107 = readVmlinuxBtf(await extractVmlinux(readFileSync(vmlinuz)));
  assert.ok(vmlinuxBtf107, '6.12.107 vmlinux has BTF');
  const base107 = Btf.parse(vmlinuxBtf107);
  assert.notEqual(base107.sha256, Btf.parse(vmlinuxBtf(RELEASES.trixie)).sha256);
  const [file, bytes] = distilledModule();
  const boot = bootWithModules(vmlinuz, [{ label: 'distilled', modules: [[file, bytes]] }]);
  console.log(`6.12.107 boot: ${boot.seconds.toFixed(1)} s\n${btfLines(boot.dmesg).join('\n')}`);
  const [run] = boot.phases;
  assert.ok(run);
  const facts = readModuleFacts(file, bytes);
  const verdict = assessBtf(
    { name: facts.name, btf: facts.btf, btfBase: facts.btfBase, buildBase: null },
    {
      base: base107,
      baseSha256: base107.sha256,
      kernelVersion: '6.12.107',
      flags: configFlags(parseKernelConfig(readFileSync(config, 'utf8'))),
    },
    { relocate: relocateModuleBtf, compareReferences: () => assert.fail('no build base to compare') },
  );
  assert.equal(verdict.btf, 'relocated', verdict.explanation);
  assert.equal(run.loads.get(file), 0, `${file} loads`);
  assert.ok(run.btf.includes('btfwatch_distilled'), 'the kernel kept its relocated BTF');
  assert.deepEqual(btfLines(boot.dmesg), []);
});
