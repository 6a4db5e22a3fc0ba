// Ingesting a real linux-image .deb with @btfwatch/pkg against `dpkg-deb --fsys-tarfile PKG > /dev/null`.
//   npm run bench -- ingest-deb [PKG.deb] [--runs N]
// Ours: stream the package and take every module's bytes and the vmlinuz image ("ingest"); then the
// same plus decompressing the vmlinuz payload to the vmlinux ELF, overlapped with the rest of the
// stream ("ingest+vmlinux"). The package comes from test/fixtures/pkg/fetch.sh (pinned, cached)
// unless given. Peak RSS is this process's (the decoder child processes are not counted).
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, openSync, closeSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extractVmlinux, readDeb, type DecoderOptions } from '@btfwatch/pkg';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
const given = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
const pkg =
  given ??
  spawnSync(
    `${root}test/fixtures/pkg/fetch.sh`,
    ['linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb'],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).stdout.trim();
if (!pkg) throw new Error('no package: fetch.sh failed');

interface OursResult {
  ms: number;
  modules: number;
  moduleBytes: number;
  vmlinuxBytes: number;
}

async function ours(decoders: DecoderOptions, withVmlinux: boolean): Promise<OursResult> {
  const start = performance.now();
  let modules = 0;
  let moduleBytes = 0;
  let vmlinux: Promise<Uint8Array> | null = null;
  await readDeb(createReadStream(pkg, { highWaterMark: 1 << 20 }), {
    decoders,
    onFile: async (file) => {
      if (file.kind === 'module') {
        const bytes = await file.read();
        modules++;
        moduleBytes += bytes.length;
      } else if (file.kind === 'vmlinuz') {
        const image = await file.read();
        if (!withVmlinux) {
          vmlinux = Promise.resolve(image);
          return;
        }
        // Not awaited here: the payload decompresses while the package keeps streaming.
        vmlinux = extractVmlinux(image, { decoders });
        vmlinux.catch(() => {});
      }
    },
  });
  if (vmlinux === null) throw new Error('no vmlinuz in the package');
  const elf: Uint8Array = await vmlinux;
  return { ms: performance.now() - start, modules, moduleBytes, vmlinuxBytes: withVmlinux ? elf.length : 0 };
}

function dpkgDeb(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const devnull = openSync('/dev/null', 'w');
    const child = spawn('dpkg-deb', ['--fsys-tarfile', pkg], { stdio: ['ignore', devnull, 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(devnull);
      if (code === 0) resolve(performance.now() - start);
      else reject(new Error(`dpkg-deb exited ${code}`));
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

readFileSync(pkg); // page cache warm for both sides
await dpkgDeb();
const ingestMs: number[] = [];
const fullMs: number[] = [];
const dpkgMs: number[] = [];
let last: OursResult | null = null;
for (let i = 0; i < runs; i++) {
  dpkgMs.push(await dpkgDeb());
  ingestMs.push((await ours({}, false)).ms);
  last = await ours({}, true);
  fullMs.push(last.ms);
}
const nativeMs = (await ours({ xz: 'native' }, true)).ms;

const d = median(dpkgMs);
const ingest = median(ingestMs);
const full = median(fullMs);
const s = (ms: number): string => (ms / 1000).toFixed(2);
console.log(`package: ${pkg.split('/').pop()}`);
console.log(`cores: ${availableParallelism()}`);
console.log(`modules: ${last!.modules}`);
console.log(`module MB: ${(last!.moduleBytes / 1e6).toFixed(1)}`);
console.log(`vmlinux MB: ${(last!.vmlinuxBytes / 1e6).toFixed(1)}`);
console.log(`runs (median of): ${runs}`);
console.log(`dpkg-deb wall s: ${s(d)}`);
console.log(`ours ingest wall s: ${s(ingest)}`);
console.log(`ours ingest ratio: ${(ingest / d).toFixed(2)}`);
console.log(`ours ingest+vmlinux wall s: ${s(full)}`);
console.log(`ours ingest+vmlinux ratio: ${(full / d).toFixed(2)}`);
console.log(`ours ingest+vmlinux in-process xz wall s: ${s(nativeMs)}`);
console.log(`peak RSS MB: ${Math.round(process.resourceUsage().maxRSS / 1024)}`);
