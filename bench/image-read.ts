// Reading the vmlinux BTF out of each shipped Debian kernel image, per format, against the reference
// tool in the same run.
//   npm run bench -- image-read [--runs N] [--builds REL,REL...]
//
// For every build in test/fixtures/images/BUILDS (the 8 of issue 10: amd64 bzImage/zstd, i386 bzImage/xz,
// ppc64el ELF, arm64 Image ×2, riscv64 Image, s390x zstd image, armhf zImage/xz), the shipped image from
// its pinned package (test/fixtures/fetch-packages.sh; extracted once into the cache):
//   ours  readFile + readKernelImage in process: the BTF (or "no BTF"), its byte order and the banner.
//   ref   `objcopy -O binary --only-section=.BTF` on the matching -dbg package's vmlinux (the uncompressed
//         ELF with debug info, extracted once into ${BTFWATCH_CACHE:-~/.cache/btfwatch}/dbg-vmlinux),
//         with BFD's generic elf64-big/elf64-little input target where it has no backend for the
//         architecture (llvm-objcopy as a last resort). The reference starts from an
//         uncompressed ELF; we start from the compressed image as shipped.
// Wall-clock medians of N runs after one warm-up. Goal: every image ≤ 2,000 ms.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLayers, readKernelImage } from '@btfwatch/pkg';
import { fixed, median, note, option, printFigures } from './support/figures.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const runs = Number(option(args, 'runs', '5'));
const only = option(args, 'builds', '').split(',').filter(Boolean);
const cache = process.env.BTFWATCH_CACHE ?? join(homedir(), '.cache', 'btfwatch');
const GOAL_MS = 2000;

interface Build {
  release: string;
  arch: string;
  package: string;
  image: string;
  btfSha256: string | null;
}

const builds: Build[] = readFileSync(join(root, 'test/fixtures/images/BUILDS'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split('\t'))
  .map(([release, arch, pkg, image, , btf]) => ({
    release: release!,
    arch: arch!,
    package: pkg!,
    image: image!,
    btfSha256: btf === 'none' ? null : btf!,
  }))
  .filter((b) => only.length === 0 || only.includes(b.release));

function pinned(substring: string): string {
  const r = spawnSync('bash', [join(root, 'test/fixtures/fetch-packages.sh'), substring], {
    encoding: 'utf8',
  });
  const path = r.stdout.trim().split('\n').filter(Boolean);
  if (r.status !== 0 || path.length !== 1) throw new Error(`pinned ${substring}: ${r.stderr.trim()}`);
  return path[0]!;
}

/** A file out of a .deb, extracted once into the cache. */
function cachedMember(dir: string, deb: string, member: string): string {
  const out = join(cache, dir, member.replace(/^\.?\//, '').replace(/\//g, '_'));
  if (existsSync(out)) return out;
  mkdirSync(join(cache, dir), { recursive: true });
  note(`extracting ${member} from ${deb.split('/').pop()}`);
  const tmp = mkdtempSync(join(tmpdir(), 'btfwatch-bench-image-'));
  try {
    execFileSync('sh', [
      '-c',
      'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" "$3"',
      'sh',
      deb,
      tmp,
      `.${member}`,
    ]);
    renameSync(join(tmp, member), out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/** The image package as BUILDS names it, or its -dbg sibling (same version, `-dbg` for `-unsigned`). */
function packageOf(b: Build, dbg: boolean): string {
  if (!dbg) return b.package;
  const at = b.package.indexOf('_');
  return `${b.package.slice(0, at).replace(/-unsigned$/, '')}-dbg${b.package.slice(at)}`;
}

interface Tool {
  name: string;
  argv: string[];
}

function timeTool(tool: Tool, vmlinux: string, out: string): number | null {
  const start = performance.now();
  const [cmd, ...rest] = tool.argv;
  const r = spawnSync(cmd!, [...rest, '-O', 'binary', '--only-section=.BTF', vmlinux, out], {
    stdio: 'ignore',
  });
  const ms = performance.now() - start;
  return r.status === 0 ? ms : null;
}

/**
 * GNU objcopy on its native target; where BFD has no backend for the architecture, on BFD's generic
 * ELF target of the file's class and byte order (elf64-big for s390x...); llvm-objcopy last.
 */
function referenceTools(vmlinux: string): Tool[] {
  const ident = readFileSync(vmlinux).subarray(0, 6);
  const generic = `elf${ident[4] === 2 ? 64 : 32}-${ident[5] === 2 ? 'big' : 'little'}`;
  return [
    { name: 'objcopy', argv: ['objcopy'] },
    { name: `objcopy -I ${generic}`, argv: ['objcopy', '-I', generic] },
    { name: 'llvm-objcopy', argv: ['llvm-objcopy'] },
  ];
}

const figures: Record<string, string> = {};
const ours: number[] = [];
const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-objcopy-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

for (const b of builds) {
  const image = cachedMember('images', pinned(packageOf(b, false)), b.image);
  const vmlinux = cachedMember(
    'dbg-vmlinux',
    pinned(packageOf(b, true)),
    `/usr/lib/debug/boot/vmlinux-${b.release}`,
  );
  const key = `${b.arch} ${b.release}`;

  let format = '';
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const r = await readKernelImage(readFileSync(image));
    const ms = performance.now() - start;
    const sha = r.btf ? createHash('sha256').update(r.btf).digest('hex') : null;
    if (sha !== b.btfSha256) throw new Error(`${key}: read ${sha}, BUILDS says ${b.btfSha256}`);
    format = describeLayers(r.layers);
    if (i > 0) times.push(ms);
  }
  const oursMs = median(times);
  ours.push(oursMs);

  const out = join(work, 'btf');
  const tool = referenceTools(vmlinux).find((t) => timeTool(t, vmlinux, out) !== null);
  if (!tool) throw new Error(`${key}: no objcopy reads ${vmlinux}`);
  const refTimes: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const ms = timeTool(tool, vmlinux, out);
    if (ms === null) throw new Error(`${key}: ${tool.name} failed on ${vmlinux}`);
    if (i > 0) refTimes.push(ms);
  }
  const refMs = median(refTimes);
  const refBtf = readFileSync(out);
  if ((refBtf.length > 0 ? createHash('sha256').update(refBtf).digest('hex') : null) !== b.btfSha256)
    throw new Error(`${key}: ${tool.name} extracted other bytes than BUILDS names`);

  figures[`${key} format`] = `${format}${b.btfSha256 ? '' : ' (no BTF)'}`;
  figures[`${key} ours ms`] = fixed(oursMs, 1);
  figures[`${key} ${tool.name} on -dbg vmlinux ms`] = fixed(refMs, 1);
  figures[`${key} ours / ${tool.name}`] = fixed(oursMs / refMs);
  note(`${key}: ${format} ${fixed(oursMs, 1)} ms, ${tool.name} ${fixed(refMs, 1)} ms`);
}

printFigures({
  ...figures,
  'images read': String(ours.length),
  'ours slowest image ms': fixed(Math.max(...ours), 1),
  'goal ms per image': String(GOAL_MS),
  'goal met': Math.max(...ours) <= GOAL_MS ? 'yes' : 'no',
});
