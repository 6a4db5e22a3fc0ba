// Mutated real inputs through every parser an attacker or a broken mirror can reach: ELF (and the module
// facts read from it), module BTF, apt Release and Packages indexes, kernel images (vmlinuz), .deb and
// .rpm. Each either returns or throws its lib's typed error — never another exception, never a hang.
// Here (the unit tier) at a tenth of its full size, ~10k inputs; test/heavy/pkg/fuzz-long runs it whole (98,720
// inputs, with test/unit/btf/fuzz.test.ts's at full size > 100k in every `npm test`) and longer on request.
// FUZZ_SCALE multiplies every count. Deterministic: a failure names its target, seed and case (FUZZ_SEED replays it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { BtfError, readBtfFromFile, Btf } from '@btfwatch/btf';
import { CompatError, readModuleFacts } from '@btfwatch/compat';
import { ElfError, ElfFile } from '@btfwatch/elf';
import { MirrorError } from '@btfwatch/mirror/errors';
import { readParagraphs, toAptPackage } from '@btfwatch/mirror/internal/packages';
import { parseRelease } from '@btfwatch/mirror/internal/release';
import { PkgError, readDeb, readKernelImage, readRpm } from '@btfwatch/pkg';
import { RELEASES, moduleElf } from '../../support/fixtures.ts';
import { fixtureBytes } from '../../support/pkg.ts';
import { rng } from '../../support/rng.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 0x1414);
const SCALE = Number(process.env.FUZZ_SCALE ?? 0.1);
/** A full-size count at this run's scale, never fewer than 20 cases (or the full count when smaller). */
const scaled = (n: number) => Math.max(Math.min(n, 20), Math.round(n * SCALE));

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** Bit flips, byte sets, interesting u32s (near the start more often), truncation or a cut-and-repeat. */
function mutate(src: Uint8Array, rand: () => number, hotBytes = 64): Uint8Array {
  const what = Math.floor(rand() * 5);
  if (what === 0) return src.slice(0, Math.floor(rand() * src.length));
  const out = new Uint8Array(src);
  const view = new DataView(out.buffer);
  const at = () =>
    rand() < 0.5 ? Math.floor(rand() * Math.min(out.length, hotBytes)) : Math.floor(rand() * out.length);
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n && out.length > 4; i++) {
    const p = Math.min(at(), out.length - 4);
    if (what === 1) out[p] = out[p]! ^ (1 << Math.floor(rand() * 8));
    else if (what === 2) out[p] = Math.floor(rand() * 256);
    else if (what === 3)
      view.setUint32(p, INTERESTING[Math.floor(rand() * INTERESTING.length)]!, rand() < 0.5);
    else out.copyWithin(p, Math.floor(rand() * out.length));
  }
  return out;
}

/** Mutations of text: characters replaced by field separators, digits, NULs and long runs. */
function mutateText(src: string, rand: () => number): string {
  const pieces = [':', '\n', '\n\n', ' ', '\u0000', '9'.repeat(25), '-1', '/../', 'x'.repeat(300), ''];
  let out = src;
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const p = Math.floor(rand() * out.length);
    const len = Math.floor(rand() * 8);
    out = out.slice(0, p) + pieces[Math.floor(rand() * pieces.length)]! + out.slice(p + len);
  }
  return rand() < 0.1 ? out.slice(0, Math.floor(rand() * out.length)) : out;
}

function typed(err: unknown, classes: Array<abstract new (...a: never[]) => Error>, where: string): void {
  assert.ok(
    classes.some((c) => err instanceof c),
    `${where}: ${err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack}` : String(err)}`,
  );
}

test('ELF and module facts: mutated modules parse or throw ElfError/CompatError', () => {
  const src = moduleElf(RELEASES.bookworm55, 'dummy.ko');
  const cases = scaled(50_000);
  const rand = rng(SEED);
  for (let i = 0; i < cases; i++) {
    const bytes = mutate(src, rand);
    try {
      const elf = ElfFile.parse(bytes);
      elf.sectionDataByName('.BTF');
      readModuleFacts('fuzz.ko', bytes);
    } catch (err) {
      typed(err, [ElfError, CompatError], `elf seed ${SEED} case ${i}`);
    }
  }
});

test('module BTF: mutated .BTF sections parse or throw BtfError', () => {
  const elf = ElfFile.parse(moduleElf(RELEASES.bookworm55, 'dummy.ko'));
  const src = elf.sectionDataByName('.BTF')!;
  assert.ok(src && src.length > 100);
  const cases = scaled(30_000);
  const rand = rng(SEED + 1);
  for (let i = 0; i < cases; i++) {
    try {
      const file = readBtfFromFile(mutate(src, rand, 24));
      Btf.parse(file.btf);
    } catch (err) {
      typed(err, [BtfError], `btf seed ${SEED + 1} case ${i}`);
    }
  }
});

const RELEASE_TEXT = `Origin: Debian
Label: Debian-Security
Suite: stable-security
Codename: bookworm-security
Date: Sat, 05 Dec 2026 10:00:00 UTC
Valid-Until: Sat, 12 Dec 2026 10:00:00 UTC
Acquire-By-Hash: yes
Architectures: amd64 arm64
Components: main
SHA256:
 ${'a'.repeat(64)} 1234 main/binary-amd64/Packages.xz
 ${'b'.repeat(64)} 99 main/binary-amd64/Release
`;
const PACKAGES_TEXT = `Package: linux-image-6.1.0-55-amd64-unsigned
Source: linux (6.1.192-1)
Version: 6.1.192-1
Architecture: amd64
Depends: kmod, linux-base (>= 4.3~)
Provides: linux-image
Filename: pool/main/l/linux/linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb
Size: 69632000
Installed-Size: 400000
SHA256: ${'c'.repeat(64)}

Package: linux-headers-6.1.0-55-amd64
Version: 6.1.192-1
Architecture: amd64
Filename: pool/main/l/linux/linux-headers-6.1.0-55-amd64_6.1.192-1_amd64.deb
Size: 1200000
SHA256: ${'d'.repeat(64)}
`;

test('apt indexes: mutated Release and Packages parse or throw MirrorError', async () => {
  const cases = scaled(12_000);
  const rand = rng(SEED + 2);
  for (let i = 0; i < cases; i++) {
    try {
      parseRelease(mutateText(RELEASE_TEXT, rand), 'fuzz/Release');
    } catch (err) {
      typed(err, [MirrorError], `release seed ${SEED + 2} case ${i}`);
    }
  }
  for (let i = 0; i < cases / 2; i++) {
    try {
      for await (const p of readParagraphs(Readable.from([mutateText(PACKAGES_TEXT, rand)]), 'fuzz/Packages'))
        if (p.get('package') !== undefined) toAptPackage(p, 'fuzz/Packages');
    } catch (err) {
      typed(err, [MirrorError], `packages seed ${SEED + 2} case ${i}`);
    }
  }
});

test('kernel images: mutated vmlinuz (every compression) read or throw PkgError', async () => {
  const formats = ['gzip', 'xz', 'lzma', 'bzip2', 'lz4'];
  const cases = scaled(60);
  const rand = rng(SEED + 3);
  for (const format of formats) {
    const src = fixtureBytes(`vmlinuz/vmlinuz-${format}`);
    for (let i = 0; i < cases; i++) {
      try {
        // In-process decoders: thousands of child processes would measure the machine, not the parser.
        await readKernelImage(mutate(src, rand, 1024), {
          decoders: { xz: 'native', bzip2: 'js', zstd: 'native' },
          limits: { maxVmlinuxBytes: 16 * 1024 * 1024 },
        });
      } catch (err) {
        typed(err, [PkgError], `vmlinuz-${format} seed ${SEED + 3} case ${i}`);
      }
    }
  }
});

test('packages: mutated .deb and .rpm read or throw PkgError', async () => {
  const cases = scaled(100);
  const rand = rng(SEED + 4);
  const inputs: Array<[typeof readDeb, Uint8Array, string]> = [
    [readDeb, fixtureBytes('deb/linux-headers-6.1.deb'), 'deb'],
    [
      readRpm as unknown as typeof readDeb,
      fixtureBytes('rpm/kernel-modules-6.1.192-1.fixture.zstd.rpm'),
      'rpm',
    ],
  ];
  for (const [read, src, what] of inputs) {
    for (let i = 0; i < cases; i++) {
      try {
        await read(Readable.from([mutate(src, rand, 512)]), {
          decoders: { xz: 'native', bzip2: 'js', zstd: 'native' },
          onFile: async (f) => void (await f.read()),
        });
      } catch (err) {
        typed(err, [PkgError], `${what} seed ${SEED + 4} case ${i}`);
      }
    }
  }
});
