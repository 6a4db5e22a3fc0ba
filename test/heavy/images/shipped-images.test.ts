// The image of every build the issue lists, exactly as shipped in its pinned Debian package: `btfwatch
// inspect` must give the BTF the -dbg package's vmlinux holds (BUILDS; boot-confirmed for arm64 and
// s390x by test/heavy/qemu), or say the build has none. Downloads ~0.5 GB into the cache on first run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readKernelImage } from '@btfwatch/pkg';
import { runCli } from '../../support/cli.ts';
import { BUILDS, shippedImage } from '../../support/images.ts';

const LAYERS: Record<string, string> = {
  amd64: 'bzimage (zstd) → elf',
  ppc64el: 'elf',
  i386: 'bzimage (xz) → elf',
  arm64: 'arm64-image',
  riscv64: 'riscv-image',
  s390x: 's390-image (zstd) → raw',
  armhf: 'arm-zimage (xz) → raw',
};

test('the 8 builds of the issue: every shipped image reads to its -dbg BTF, or to "no BTF"', async () => {
  assert.equal(BUILDS.length, 8);
  for (const b of BUILDS) {
    const path = shippedImage(b);
    const r = await readKernelImage(readFileSync(path));
    const sha = r.btf ? createHash('sha256').update(r.btf).digest('hex') : null;
    assert.equal(sha, b.btfSha256, b.release);
    assert.equal(r.release, b.release);
    assert.equal(r.arch, b.arch === 'armhf' ? 'arm' : b.arch, `${b.release} arch`);
    if (b.btfSha256) {
      assert.equal(r.littleEndian, b.littleEndian, `${b.release} byte order`);
      if (b.btfAt !== null) assert.deepEqual(r.btfSource, { kind: 'raw-header', offset: b.btfAt });
    } else assert.ok(r.noBtf, b.release);

    const cli = runCli(['inspect', path, '--json']);
    assert.equal(cli.status, 0, `${b.release}: ${cli.stderr}`);
    const summary = JSON.parse(cli.stdout);
    assert.equal(summary.image, LAYERS[b.arch], b.release);
    if (b.btfSha256) assert.equal(summary.btfSha256, b.btfSha256, b.release);
    else assert.equal(summary.btf, 'none', b.release);
    assert.match(summary.kernelVersion, /^\d+\.\d+\.\d+$/, b.release);
  }
});
