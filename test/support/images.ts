// Kernel images of every architecture, from test/fixtures/images (see its regenerate.sh): the real
// bytes each format needs — boot headers, decompressors, banners, trailers — with the BTF put back
// where the shipped image holds it, and the full shipped images from the pinned packages for heavy tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir, repoRoot } from './fixtures.ts';

export const imagesDir = join(fixturesDir, 'images');

/** One line of test/fixtures/images/BUILDS: a shipped image and its -dbg ground truth. */
export interface ImageBuild {
  release: string;
  arch: string;
  /** The pinned .deb (file name as in packages.lock). */
  package: string;
  /** Path of the image in the package. */
  image: string;
  imageSha256: string;
  /** sha256 of the -dbg vmlinux .BTF; null when the build has no BTF. */
  btfSha256: string | null;
  littleEndian: boolean | null;
  /** Offset of the BTF header in the innermost (raw) layer; null for ELF layouts and builds without BTF. */
  btfAt: number | null;
  /** s390x and armhf: where the compressed payload sits in the shipped image. */
  payload: { start: number; end: number } | null;
}

export const BUILDS: ReadonlyArray<ImageBuild> = readFileSync(join(imagesDir, 'BUILDS'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((line) => {
    const [release, arch, pkg, image, imageSha256, btf, order, at, innermost] = line.split('\t') as string[];
    const payload = /@(\d+)-(\d+)$/.exec(innermost ?? '');
    return {
      release: release!,
      arch: arch!,
      package: pkg!,
      image: image!,
      imageSha256: imageSha256!,
      btfSha256: btf === 'none' ? null : btf!,
      littleEndian: order === 'little' ? true : order === 'big' ? false : null,
      btfAt: at === '-' || Number(at) < 0 ? null : Number(at),
      payload: payload ? { start: Number(payload[1]), end: Number(payload[2]) } : null,
    };
  });

export function build(release: string): ImageBuild {
  const b = BUILDS.find((x) => x.release === release);
  if (!b) throw new Error(`no build ${release} in test/fixtures/images/BUILDS`);
  return b;
}

export const ARM64 = '6.12.117+deb13-arm64';
export const ARM64_OTHER = '6.12.107+deb13-arm64';
export const S390X = '6.12.107+deb13-s390x';
export const S390X_OTHER = '6.12.113+deb13-s390x';
export const RISCV64 = '6.12.117+deb13-riscv64';
export const ARMHF = '6.12.117+deb13-armmp';
export const I386 = '6.1.0-57-686-pae';

let manifest: Map<string, string> | undefined;
const cache = new Map<string, Buffer>();

/** Decompressed bytes of a committed `.xz` under test/fixtures/images, checked against its MANIFEST. */
export function imageFixture(relative: string): Buffer {
  const hit = cache.get(relative);
  if (hit) return hit;
  manifest ??= new Map(
    readFileSync(join(imagesDir, 'MANIFEST'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [sha, path] = l.split(/\s+/);
        return [path ?? '', sha ?? ''] as const;
      }),
  );
  const bytes = execFileSync('xz', ['-dc', join(imagesDir, relative)], { maxBuffer: 1 << 30 });
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.get(relative))
    throw new Error(`fixture images/${relative} does not match MANIFEST (regenerate?)`);
  cache.set(relative, bytes);
  return bytes;
}

/** The -dbg vmlinux .BTF of a build with committed BTF (arm64 6.12.117, s390x 6.12.107). */
export function archVmlinuxBtf(release: string): Buffer {
  return imageFixture(`${release}/vmlinux.btf.xz`);
}

export function archConfig(release: string): string {
  return imageFixture(`${release}/config.xz`).toString('utf8');
}

/** Module file names (`overlay.ko`) committed for a release, and their paths as shipped (.ko.xz). */
export function archModules(release: string): Array<{ file: string; path: string }> {
  return readdirSync(join(imagesDir, release, 'modules'))
    .filter((f) => f.endsWith('.ko.xz'))
    .sort()
    .map((f) => ({ file: f.slice(0, -3), path: join(imagesDir, release, 'modules', f) }));
}

/** The uncompressed module ELF. */
export function archModuleElf(release: string, file: string): Buffer {
  return execFileSync('xz', ['-dc', join(imagesDir, release, 'modules', `${file}.xz`)], {
    maxBuffer: 1 << 28,
  });
}

function splice(skeleton: Buffer, btf: Uint8Array, at: number): Buffer {
  const out = Buffer.from(skeleton);
  out.set(btf, at);
  return out;
}

/** The arm64 6.12.117 Image: real headers and banners, the -dbg BTF at the offset the shipped image has it. */
export function arm64Image(): Buffer {
  const b = build(ARM64);
  return splice(imageFixture(`${ARM64}/skeleton.xz`), archVmlinuxBtf(ARM64), b.btfAt!);
}

/** The riscv64 Image: real headers and banners, no BTF committed (the heavy test reads the shipped one). */
export function riscvSkeleton(): Buffer {
  return imageFixture(`${RISCV64}/skeleton.xz`);
}

/**
 * The s390x 6.12.107 boot image: its real decompressor (with the zstd magics its own code holds), a zstd
 * payload of the raw kernel (real headers and banners, the -dbg BTF at its offset), its real padding and
 * zIPL trailer.
 */
export function s390Image(): Buffer {
  const b = build(S390X);
  const raw = splice(imageFixture(`${S390X}/raw-skeleton.xz`), archVmlinuxBtf(S390X), b.btfAt!);
  const payload = execFileSync('zstd', ['-3', '-c', '-q'], { input: raw, maxBuffer: 1 << 30 });
  return Buffer.concat([imageFixture(`${S390X}/head.xz`), payload, imageFixture(`${S390X}/tail.xz`)]);
}

/**
 * The armhf zImage: its real decompressor (holding a false xz magic), an xz payload of the raw kernel
 * (real headers and banner; the build has no BTF), its real size word and padding.
 */
export function armhfImage(): Buffer {
  const raw = imageFixture(`${ARMHF}/raw-skeleton.xz`);
  const payload = execFileSync('xz', ['--check=crc32', '--arm', '--lzma2=dict=1MiB', '-c'], {
    input: raw,
    maxBuffer: 1 << 30,
  });
  return Buffer.concat([imageFixture(`${ARMHF}/head.xz`), payload, imageFixture(`${ARMHF}/tail.xz`)]);
}

/** The i386 686-pae bzImage header around a small real ELF32 (no .BTF: the build has none). */
export function i386Image(): Buffer {
  return imageFixture(`${I386}/vmlinuz.xz`);
}

const shipped = new Map<string, string>();

/**
 * Path of the image exactly as shipped in the build's pinned package (downloaded into the cache on first
 * use, sha256-checked), extracted into a temporary directory. Throws when it cannot be had: heavy tests only.
 */
export function shippedImage(b: ImageBuild): string {
  const hit = shipped.get(b.release);
  if (hit) return hit;
  const script = join(repoRoot, 'test', 'fixtures', 'fetch-packages.sh');
  const r = spawnSync('bash', [script, b.package], { encoding: 'utf8' });
  const deb = r.stdout.trim().split('\n').filter(Boolean);
  if (r.status !== 0 || deb.length !== 1 || !existsSync(deb[0]!))
    throw new Error(`pinned package ${b.package} unavailable: ${r.stderr.trim() || r.stdout.trim()}`);
  const dir = join(tmpdir(), `btfwatch-images-${process.pid}`, b.release);
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', [
    '-c',
    'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" ".$3"',
    'sh',
    deb[0]!,
    dir,
    b.image,
  ]);
  const path = join(dir, b.image);
  const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (sha !== b.imageSha256) throw new Error(`${path}: sha256 ${sha}, BUILDS says ${b.imageSha256}`);
  shipped.set(b.release, path);
  return path;
}
