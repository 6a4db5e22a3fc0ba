// btfwatch inspect and check on kernel images of other architectures, as a user runs them: the images
// are rebuilt from the real extracts in test/fixtures/images, modules are the shipped .ko.xz files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import {
  ARM64,
  ARM64_OTHER,
  ARMHF,
  S390X,
  S390X_OTHER,
  archConfig,
  archModules,
  arm64Image,
  armhfImage,
  build,
  s390Image,
} from '../../support/images.ts';

const work = mkdtempSync(join(tmpdir(), 'btfwatch-arch-cli-'));
const file = (name: string, bytes: Uint8Array | string) => {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
};

const KERNELS = [
  {
    release: ARM64,
    other: ARM64_OTHER,
    image: () => arm64Image(),
    layers: 'arm64-image',
    order: 'little-endian',
  },
  {
    release: S390X,
    other: S390X_OTHER,
    image: () => s390Image(),
    layers: 's390-image (zstd) → raw',
    order: 'big-endian',
  },
] as const;

for (const k of KERNELS) {
  test(`${k.release}: inspect gives the -dbg BTF hash; check: own modules identical, ${k.other}'s rejected with the kernel's lines`, () => {
    const image = file(`vmlinuz-${k.release}`, k.image());
    const config = file(`config-${k.release}`, archConfig(k.release));
    const info = runCli(['inspect', image, '--json']);
    assert.equal(info.status, 0, info.stderr);
    const summary = JSON.parse(info.stdout);
    assert.equal(summary.btfSha256, build(k.release).btfSha256);
    assert.equal(summary.image, k.layers);
    assert.equal(summary.byteOrder, k.order);
    assert.equal(summary.release, k.release);
    assert.equal(summary.kernelVersion, k.release.split('+')[0]);

    const own = runCli([
      'check',
      '--kernel',
      image,
      '--build-base',
      image,
      '--config',
      config,
      '--json',
      ...archModules(k.release).map((m) => m.path),
    ]);
    assert.equal(own.status, 0, own.stdout + own.stderr);
    const ownResults = JSON.parse(own.stdout) as Array<{
      verdict: string;
      load: string;
      explanation: string;
      log: string[];
    }>;
    assert.equal(ownResults.length, 3);
    for (const r of ownResults) {
      assert.equal(r.verdict, 'identical');
      // A raw image has no symbol table to read CRCs from, and no --symvers was given: BTF-wise it loads
      // with BTF, whether the module loads at all turns on CRCs nobody gave.
      assert.equal(r.load, 'unknown');
      assert.match(r.explanation, /loads with BTF: .*CRCs are not known/);
      assert.deepEqual(r.log, []);
    }

    const other = runCli([
      'check',
      '--kernel',
      image,
      '--config',
      config,
      '--json',
      ...archModules(k.other).map((m) => m.path),
    ]);
    assert.equal(other.status, 1, other.stdout + other.stderr);
    const results = JSON.parse(other.stdout) as Array<{
      module: string;
      verdict: string;
      explanation: string;
      log: string[];
    }>;
    assert.deepEqual(
      results.map((r) => [r.module, r.verdict]),
      [
        ['dummy', 'rejected'],
        ['nls_cp437', 'rejected'],
        ['overlay', 'rejected'],
      ],
    );
    for (const r of results) assert.match(r.explanation, /loads without BTF: .*MODULE_ALLOW_BTF_MISMATCH=y/);
    // Not a single "btf_header not found": the big-endian modules are read in the kernel's order.
    const first = results[0]!.log[0] ?? '';
    assert.match(first, /^BPF: \[\d+\] Invalid name_offset:\d+$/);
  });
}

test('armhf zImage: inspect says no BTF (exit 0); check says why it cannot check against it', () => {
  const image = file('vmlinuz-armmp', armhfImage());
  const info = runCli(['inspect', image]);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /^image +arm-zimage \(xz\) → raw$/m);
  assert.match(info.stdout, /^btf +none$/m);
  assert.match(info.stdout, /^release +6\.12\.117\+deb13-armmp$/m);
  assert.doesNotMatch(info.stdout, /btfSha256/);
  const check = runCli(['check', '--kernel', image, archModules(ARM64)[0]!.path]);
  assert.equal(check.status, 1);
  assert.match(
    check.stderr,
    new RegExp(
      `^btfwatch: .*arm-zimage \\(xz\\) → raw of ${ARMHF.replace(/[+.]/g, '\\$&')} has no BTF: no BTF header`,
    ),
  );
});
