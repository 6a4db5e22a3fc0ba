// Full real Debian kernel packages, fetched on demand (test/fixtures/pkg/fetch.sh: pinned by
// sha256, cached under ${BTFWATCH_CACHE:-~/.cache/btfwatch}, mirror from the environment or apt).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { extractVmlinux, locateBzImagePayload, readDeb, type DebInfo, type PickedFile } from '@btfwatch/pkg';
import { fetchPackage, readelfHeader, sh, sha256 } from '../../support/pkg.ts';

const IMAGE_61 = 'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb';
const CLOUD_61 = 'linux-image-6.1.0-56-cloud-amd64-unsigned_6.1.192-2_amd64.deb';
const CLOUD_612 = 'linux-image-6.12.117+deb13-cloud-amd64-unsigned_6.12.117-1_amd64.deb';
const BINARY_72 = 'linux-binary-unsigned-7.2.13+deb14-amd64_7.2.13-1_amd64.deb';

/** The vmlinuz of a package as dpkg-deb and tar extract it. */
function oracleImage(deb: string, path: string): Buffer {
  return sh(`dpkg-deb --fsys-tarfile '${deb}' | tar -xO '.${path}'`);
}

async function pickVmlinuz(deb: string): Promise<{ info: DebInfo; file: PickedFile; bytes: Uint8Array }> {
  let found: { file: PickedFile; bytes: Uint8Array } | null = null;
  const info = await readDeb(createReadStream(deb), {
    select: (p) => /\/vmlinuz/.test(p),
    onFile: async (file) => {
      assert.equal(found, null);
      found = { file, bytes: await file.read() };
    },
  });
  assert.ok(found);
  return { info, ...(found as { file: PickedFile; bytes: Uint8Array }) };
}

describe('vmlinuz of real kernel packages decompresses like the system tools', () => {
  for (const [pkg, compression, tool, path] of [
    [IMAGE_61, 'xz', 'xz -dc', '/boot/vmlinuz-6.1.0-55-amd64'],
    [CLOUD_61, 'lz4', 'lz4 -dcq', '/boot/vmlinuz-6.1.0-56-cloud-amd64'],
    [CLOUD_612, 'zstd', 'zstd -dcq', '/boot/vmlinuz-6.12.117+deb13-cloud-amd64'],
    [BINARY_72, 'zstd', 'zstd -dcq', '/usr/lib/modules/7.2.13+deb14-amd64/vmlinuz.unsigned'],
  ] as const) {
    it(`${pkg}: ${compression}`, async () => {
      const deb = fetchPackage(pkg);
      const { file, bytes } = await pickVmlinuz(deb);
      assert.equal(file.path, path);
      assert.equal(file.kind, 'vmlinuz');
      const image = oracleImage(deb, path);
      assert.equal(sha256(bytes), sha256(image));
      const payload = locateBzImagePayload(bytes)!;
      assert.equal(payload.compression, compression);
      const expected = sh(tool, image.subarray(payload.offset, payload.offset + payload.length));
      const elf = await extractVmlinux(bytes);
      assert.equal(elf.length, expected.length);
      assert.equal(sha256(elf), sha256(expected));
      assert.match(
        readelfHeader(elf.subarray(0, 4096)),
        /Type:\s+EXEC[\s\S]*Machine:\s+Advanced Micro Devices X86-64/,
      );
    });
  }
});

describe('every module of a real linux-image .deb', () => {
  const dir = mkdtempSync(join(tmpdir(), 'btfwatch-pkg-real-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [pkg, suffix] of [
    [IMAGE_61, '.ko'],
    [CLOUD_612, '.ko.xz'],
  ] as const) {
    it(`${pkg}: count and per-file sha256 equal dpkg-deb --fsys-tarfile | tar`, async () => {
      const deb = fetchPackage(pkg);
      const ours = new Map<string, string>();
      let maxInFlight = 0;
      let inFlight = 0;
      const info = await readDeb(createReadStream(deb), {
        onFile: async (file) => {
          if (file.kind !== 'module') return;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          // Half of them streamed, to exercise both paths on real data.
          if (ours.size % 2 === 0) {
            ours.set(file.path, sha256(await file.read()));
          } else {
            const h = createHash('sha256');
            for await (const chunk of file.stream()) h.update(chunk as Buffer);
            ours.set(file.path, h.digest('hex'));
          }
          inFlight--;
        },
      });
      assert.equal(maxInFlight, 1);
      const out = join(dir, pkg);
      sh(
        `mkdir -p '${out}' && dpkg-deb --fsys-tarfile '${deb}' | tar -x -C '${out}' --wildcards '*${suffix}'`,
      );
      const theirs = new Map(
        sh(`cd '${out}' && find . -name '*${suffix}' -type f -print0 | xargs -0 sha256sum`)
          .toString()
          .trim()
          .split('\n')
          .map((l) => [l.slice(66).replace(/^\./, ''), l.slice(0, 64)] as const),
      );
      assert.ok(theirs.size > 1000, `only ${theirs.size} modules`);
      assert.equal(ours.size, theirs.size);
      for (const [path, digest] of theirs) assert.equal(ours.get(path), digest, path);
      assert.ok(info.data.entries > theirs.size);
      rmSync(out, { recursive: true, force: true });
    });
  }
});
