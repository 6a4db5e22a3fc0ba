// One real linux-image .deb (~70 MB, ~4,000 modules) ingested from a loopback mirror, against
// `dpkg-deb --fsys-tarfile PKG > /dev/null` on the same file in the same run.
//   npm run bench -- ingest-deb [--runs N] [--xz-threads N] [--no-hold] [--profile DIR] [--source]
//
// The pinned package (test/fixtures/pkg/fetch.sh, cached) is published in a signed apt archive by the
// loopback mirror (test/support/mirror-server/serve.ts), which runs as its own process: its memory and
// event loop are not ours. @btfwatch/mirror scans it for the candidate (untimed: an ingest starts from a
// candidate). Each timed run is a fresh process that
//   1. downloads the package with @btfwatch/mirror's downloader, sha256 and size verified while the body
//      streams to disk — and, in the headline figure, streams the same bytes into step 2 at once
//      (`downloadWhileReading`: results count only once the bytes verified); the "sequential" figures
//      download first, then read the verified file;
//   2. stream-extracts it with @btfwatch/pkg: ar → data.tar.xz (an `xz -dc -T2` child decodes while this
//      process walks the tar) → every module and the vmlinuz;
//   3. decompresses the vmlinuz payload (a second `xz` child), takes the vmlinux .BTF and parses it as the
//      base. The vmlinuz is the 5th tar entry: by default the archive waits there until the base exists,
//      so no module's BTF has to wait for it in memory (--no-hold: modules stream on meanwhile);
//   4. parses every module's .BTF with @btfwatch/btf as split BTF over that base and collects its base
//      references (what evaluation needs) — in a worker_thread (modules sent in batches, BTF sections
//      only), so tar walking, BTF parsing and the xz children share both cores.
// Each ingest process runs the tsc build of the libraries (what `npm start` runs; built here first with
// `tsc -b`), unless --source runs them from TypeScript through tsx (whose loader thread costs ~0.5 s CPU).
// Peak RSS counts this ingest process (VmHWM) plus every child process's own high-water mark (sampled
// from /proc every 100 ms until it exits): an upper bound of what the whole ingest held at once. CPU is
// reported for both sides too (dpkg-deb's via GNU time): on a machine shared with other work, wall-time
// ratios follow CPU-time ratios.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  mkdtempSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const root = new URL('..', import.meta.url).pathname;
const PACKAGE = 'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb';
const GOAL_RATIO = 1.3;
const GOAL_RSS_MB = 512;

interface IngestReport {
  downloadMs: number;
  extractParseMs: number;
  totalMs: number;
  /** When the vmlinux base BTF was parsed, from the start of extraction. */
  baseReadyMs: number;
  modules: number;
  modulesWithBtf: number;
  moduleTypes: number;
  baseRefs: number;
  baseTypes: number;
  selfHwmKb: number;
  childrenHwmKb: number;
  /** Command names of the child processes seen. */
  children: string;
  /** This process's memoryUsage() (MB) when its sampled RSS peaked. */
  atPeakMb: Record<string, number>;
  treePeakKb: number;
  cpuSelfMs: number;
  cpuChildrenMs: number;
}

interface BaseMessage {
  type: 'base';
  btf: Uint8Array;
}

/** A module as the worker gets it: its BTF sections (plain .ko) or the compressed file (.ko.xz, ...). */
interface ModuleMessage {
  type: 'module';
  path: string;
  btf?: Uint8Array;
  distilledBase?: Uint8Array;
  compressed?: Uint8Array;
}

interface ModulesMessage {
  type: 'modules';
  items: ModuleMessage[];
}

interface WorkerDone {
  type: 'done';
  modules: number;
  withBtf: number;
  types: number;
  refs: number;
  baseTypes: number;
  baseReadyAt: number;
}

// ---------------------------------------------------------------------------------------------------
// BTF worker thread: modules (ELF bytes, transferred) in, counts out.

async function btfWorker(): Promise<void> {
  const { Btf, BtfError, moduleBaseRefs, openBtf, readBtfFromFile } = await import('@btfwatch/btf');
  type BtfFile = import('@btfwatch/btf').BtfFile;
  type Btf = import('@btfwatch/btf').Btf;
  const { decompressModule } = await import('@btfwatch/pkg');
  const port = parentPort!;
  let base: Btf | null = null;
  let baseReadyAt = 0;
  const waiting: ModuleMessage[] = [];
  let ended = false;
  let modules = 0;
  let withBtf = 0;
  let types = 0;
  let refs = 0;
  let chain: Promise<void> = Promise.resolve();

  const parse = async (m: ModuleMessage): Promise<void> => {
    modules++;
    let file: BtfFile | null = m.btf ? { format: 'elf', btf: m.btf, looksSplit: true } : null;
    if (m.btf && m.distilledBase) file = { ...file!, distilledBase: m.distilledBase };
    if (m.compressed) {
      try {
        file = readBtfFromFile(await decompressModule(m.path, m.compressed));
      } catch (err) {
        if (!(err instanceof BtfError && err.code === 'BTF_NOT_FOUND')) throw err;
      }
    }
    if (!file) return;
    const btf = openBtf(file, base!);
    const r = moduleBaseRefs(btf);
    withBtf++;
    types += btf.count;
    refs += r.typeIds.length + r.stringOffsets.length;
  };
  const finish = () => {
    const done: WorkerDone = {
      type: 'done',
      modules,
      withBtf,
      types,
      refs,
      baseTypes: base?.nrTypes ?? 0,
      baseReadyAt,
    };
    port.postMessage(done);
  };
  port.on('message', (m: BaseMessage | ModulesMessage | { type: 'end' | 'reset' }) => {
    chain = chain
      .then(async () => {
        if (m.type === 'reset') {
          base = null;
          waiting.length = 0;
          ended = false;
          modules = withBtf = types = refs = 0;
          return;
        }
        if (m.type === 'base') {
          base = Btf.parse(m.btf);
          baseReadyAt = performance.timeOrigin + performance.now();
          for (const w of waiting.splice(0)) await parse(w);
        } else if (m.type === 'modules') {
          if (base) for (const item of m.items) await parse(item);
          else waiting.push(...m.items);
        } else {
          ended = true;
        }
        if (ended && base && waiting.length === 0) finish();
      })
      .catch((err: unknown) => port.postMessage({ type: 'error', message: String(err) }));
  });
  port.postMessage({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------------------
// One timed ingest, in its own process (clean VmHWM, children of its own).

/**
 * High-water marks of this process's children (the xz decoders), sampled until they exit. VmHWM only
 * grows, so a sample every 100 ms loses at most what a decoder adds in its last 100 ms. New children
 * are found by a scan of /proc every 500 ms (no /proc/<pid>/task/<tid>/children here): the decoders
 * here live for seconds. Sampling costs CPU in this process; it is kept far below 1% of the run.
 */
class ChildSampler {
  readonly hwm = new Map<number, number>();
  readonly cpu = new Map<number, number>();
  readonly names = new Map<number, string>();
  /** process.memoryUsage() at the highest RSS sampled: what the peak was made of. */
  atPeak: NodeJS.MemoryUsage = process.memoryUsage();
  treePeakKb = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick = 0;
  #ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

  start(): void {
    this.#timer = setInterval(() => this.sample(), 100);
  }
  stop(): void {
    clearInterval(this.#timer);
    this.sample();
  }
  sample(): void {
    if (this.#tick++ % 5 === 0) {
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name) || this.hwm.has(Number(name))) continue;
        try {
          const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) {
            this.hwm.set(Number(name), 0);
            this.names.set(Number(name), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
          }
        } catch {
          // exited meanwhile
        }
      }
    }
    let tree = statusKb(process.pid, 'VmRSS');
    const mem = process.memoryUsage();
    if (mem.rss > this.atPeak.rss) this.atPeak = mem;
    for (const pid of this.hwm.keys()) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) !== process.pid) continue;
        tree += statusKb(pid, 'VmRSS');
        this.hwm.set(pid, Math.max(this.hwm.get(pid) ?? 0, statusKb(pid, 'VmHWM')));
        const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / this.#ticks;
        this.cpu.set(pid, Math.max(this.cpu.get(pid) ?? 0, ms));
      } catch {
        // exited: its last sample stands
      }
    }
    this.treePeakKb = Math.max(this.treePeakKb, tree);
  }
}

function statusKb(pid: number | 'self', field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function ingestChild(): Promise<void> {
  const [url, sha256, size, dir, xzThreads, mode, order] = process.argv.slice(
    process.argv.indexOf('--ingest-child') + 1,
  );
  const vmlinuxFirst = order === 'vmlinux-first';
  const { createDownloader } = await import('@btfwatch/mirror');
  const { readDeb, extractVmlinux } = await import('@btfwatch/pkg');
  const { BtfError, readBtfFromFile } = await import('@btfwatch/btf');
  /** Bytes that may be transferred: a view is copied (a Buffer's slice() would not), or its neighbours would go too. */
  const owned = (b: Uint8Array): Uint8Array =>
    b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : new Uint8Array(b);

  // The worker thread is long-lived in a real ingest worker: started before the clock.
  // tsx's loader does not reach worker threads by itself: the thread registers it, then loads this file.
  const bootstrap = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { role: 'btf' } });
  const messages: Array<(m: { type: string }) => void> = [];
  worker.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'error') throw new Error(`btf worker: ${m.message}`);
    messages.shift()?.(m);
  });
  const next = <T>() => new Promise<T>((resolve) => messages.push(resolve as (m: { type: string }) => void));
  await next();
  const downloader = createDownloader({ perHostConcurrency: 1 });
  const sampler = new ChildSampler();
  const cpu0 = process.cpuUsage();
  sampler.start();

  const decoders = { xzThreads: Number(xzThreads) || availableParallelism() };
  /** Stream-extract one package and parse all of its BTF; resolves when the worker has parsed it all. */
  const extractAndParse = async (source: NodeJS.ReadableStream | Readable): Promise<WorkerDone> => {
    worker.postMessage({ type: 'reset' });
    // Modules travel in batches: one postMessage per module costs more than parsing a small one.
    let batch: ModuleMessage[] = [];
    let transfer: ArrayBuffer[] = [];
    let batchBytes = 0;
    const flush = () => {
      if (batch.length === 0) return;
      worker.postMessage({ type: 'modules', items: batch } satisfies ModulesMessage, transfer);
      batch = [];
      transfer = [];
      batchBytes = 0;
    };
    const send = (m: ModuleMessage, buffers: Array<Uint8Array | undefined>) => {
      batch.push(m);
      for (const b of buffers) {
        if (!b) continue;
        transfer.push(b.buffer as ArrayBuffer);
        batchBytes += b.byteLength;
      }
      if (batch.length >= 64 || batchBytes >= 1 << 20) flush();
    };
    const done = next<WorkerDone>();
    let vmlinux: Promise<void> | null = null;
    await readDeb(source as Readable, {
      decoders,
      onFile: async (f) => {
        if (f.kind === 'module') {
          const bytes = await f.read();
          // Only the BTF sections travel (and wait for the base): ~15 KB of a ~100 KB module.
          // Compressed modules go whole; the worker decompresses them.
          if (f.compression !== 'none') {
            const compressed = owned(bytes);
            send({ type: 'module', path: f.path, compressed }, [compressed]);
            return;
          }
          let found;
          try {
            found = readBtfFromFile(bytes);
          } catch (err) {
            if (!(err instanceof BtfError && err.code === 'BTF_NOT_FOUND')) throw err;
          }
          // Copies (new Uint8Array), not views: the module's buffer stays here.
          const btf = found ? new Uint8Array(found.btf) : undefined;
          const distilledBase = found?.distilledBase ? new Uint8Array(found.distilledBase) : undefined;
          send({ type: 'module', path: f.path, btf, distilledBase }, [btf, distilledBase]);
        } else if (f.kind === 'vmlinuz') {
          const image = await f.read();
          // Decompresses beside the archive stream; the base goes to the worker as soon as it exists.
          vmlinux = extractVmlinux(image, { decoders }).then((elf) => {
            const btf = new Uint8Array(readBtfFromFile(elf).btf);
            worker.postMessage({ type: 'base', btf } satisfies BaseMessage, [btf.buffer as ArrayBuffer]);
          });
          vmlinux.catch(() => undefined);
          // Unless --no-hold: the archive waits here until the base exists (no module waits for it in
          // memory); the data.tar decoder keeps decoding ahead meanwhile.
          if (vmlinuxFirst) await vmlinux;
        }
      },
    });
    if (!vmlinux) throw new Error('no vmlinuz in the package');
    flush();
    await vmlinux;
    worker.postMessage({ type: 'end' });
    return done;
  };

  const expect = { sha256: sha256!, size: Number(size) };
  const t0 = performance.now();
  let t1: number;
  let result: WorkerDone;
  let path: string;
  if (mode === 'sequential') {
    // Download (verified), then read the file.
    const file = await downloader.download(url!, expect, { dir: dir! });
    t1 = performance.now();
    result = await extractAndParse(createReadStream(file.path, { highWaterMark: 1 << 20 }));
    path = file.path;
  } else {
    // The same bytes stream to disk (verified at the end) and into the extraction at once.
    const r = await downloader.downloadWhileReading(url!, expect, extractAndParse, { dir: dir! });
    t1 = t0;
    result = r.value;
    path = r.file.path;
  }
  const t2 = performance.now();
  sampler.stop();
  const cpu = process.cpuUsage(cpu0);
  rmSync(path, { force: true });
  await downloader.close();
  await worker.terminate();
  const report: IngestReport = {
    downloadMs: t1 - t0,
    extractParseMs: t2 - t1,
    totalMs: t2 - t0,
    baseReadyMs: result.baseReadyAt - (performance.timeOrigin + t1),
    modules: result.modules,
    modulesWithBtf: result.withBtf,
    moduleTypes: result.types,
    baseRefs: result.refs,
    baseTypes: result.baseTypes,
    selfHwmKb: statusKb('self', 'VmHWM'),
    childrenHwmKb: [...sampler.hwm.values()].reduce((a, b) => a + b, 0),
    children: [...sampler.names.values()].join(' '),
    atPeakMb: Object.fromEntries(
      Object.entries(sampler.atPeak).map(([k, v]) => [k, Math.round(v / 2 ** 20)]),
    ) as Record<string, number>,
    treePeakKb: sampler.treePeakKb,
    cpuSelfMs: (cpu.user + cpu.system) / 1000,
    cpuChildrenMs: [...sampler.cpu.values()].reduce((a, b) => a + b, 0),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---------------------------------------------------------------------------------------------------
// The bench: mirror process, candidate, alternating runs of dpkg-deb and an ingest process.

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const runs = opt('--runs', 3);
  const xzThreads = opt('--xz-threads', availableParallelism());
  // --profile DIR: V8 CPU profiles of every ingest process (main and worker thread) go to DIR.
  const profileDir = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined;
  // Default: the archive waits at the vmlinuz until the base is parsed, so no module's BTF waits for it
  // in memory (peak RSS); --no-hold streams modules on meanwhile (measured: same wall time, ~30 MB more).
  const vmlinuxFirst = !args.includes('--no-hold');
  const fromSource = args.includes('--source');
  if (!fromSource) {
    const libs = ['libs/pkg', 'libs/btf', 'libs/mirror'].map((l) => join(root, l));
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', ...libs], { stdio: 'inherit' });
  }
  ingestExecArgv = fromSource
    ? process.execArgv
    : process.execArgv.filter((a) => a !== '--conditions=btfwatch-source');
  const pkg = spawnSync(join(root, 'test/fixtures/pkg/fetch.sh'), [PACKAGE], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).stdout.trim();
  if (!pkg) throw new Error('no package: test/fixtures/pkg/fetch.sh failed');

  const mirror = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'test/support/mirror-server/serve.ts'),
      JSON.stringify({ apt: { suites: { 'bookworm-security': { packages: [pkg] } } } }),
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const [line] = await new Promise<string[]>((resolve, reject) => {
    mirror.once('exit', (code) => reject(new Error(`mirror exited ${code}`)));
    createInterface({ input: mirror.stdout }).once('line', (l) => resolve([l]));
  });
  const served = JSON.parse(line!) as { aptUrl: string; publicKeyPath: string };
  const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-ingest-'));
  try {
    const { scanApt } = await import('@btfwatch/mirror');
    const scan = await scanApt(
      { url: served.aptUrl, suite: 'bookworm-security', keyring: served.publicKeyPath },
      {},
      { dir: work },
    );
    const candidate = scan.changed ? scan.packages.find((p) => p.role === 'kernel-image') : undefined;
    if (!candidate) throw new Error('the loopback mirror lists no kernel image');

    readFileSync(pkg); // page cache warm for both sides
    await dpkgDeb(pkg);
    const dpkg: Array<{ wallMs: number; cpuMs: number }> = [];
    const ours: IngestReport[] = [];
    const sequential: IngestReport[] = [];
    for (let i = 0; i < runs; i++) {
      dpkg.push(await dpkgDeb(pkg));
      ours.push(await ingestOnce(candidate, work, xzThreads, 'overlapped', profileDir, vmlinuxFirst));
      sequential.push(await ingestOnce(candidate, work, xzThreads, 'sequential', profileDir, vmlinuxFirst));
    }

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const m = (f: (r: IngestReport) => number) => median(ours.map(f));
    const ms = (f: (r: IngestReport) => number) => median(sequential.map(f));
    const d = median(dpkg.map((x) => x.wallMs));
    const total = m((r) => r.totalMs);
    const all = [...ours, ...sequential];
    const rssBoundMb = Math.max(...all.map((r) => r.selfHwmKb + r.childrenHwmKb)) / 1024;
    const last = ours.at(-1)!;
    const s = (ms: number) => (ms / 1000).toFixed(2);
    const figures: Array<[string, string]> = [
      ['package', PACKAGE],
      ['package MB', (candidate.size / 1e6).toFixed(1)],
      ['cores', String(availableParallelism())],
      ['machine', 'shared with other sessions: load average ' + loadAverage()],
      ['runs (median of)', String(runs)],
      ['xz threads (data.tar)', String(xzThreads)],
      ['libraries', fromSource ? 'TypeScript source through tsx' : 'tsc build (as npm start runs)'],
      [
        'order',
        vmlinuxFirst
          ? 'archive held until the vmlinux base is parsed'
          : 'modules stream on while the vmlinux decompresses',
      ],
      ['modules', String(last.modules)],
      ['modules with BTF', String(last.modulesWithBtf)],
      ['module BTF types parsed', String(last.moduleTypes)],
      ['module base references', String(last.baseRefs)],
      ['vmlinux base nr_types', String(last.baseTypes)],
      ['dpkg-deb --fsys-tarfile wall s', s(d)],
      ['dpkg-deb CPU s', s(median(dpkg.map((x) => x.cpuMs)))],
      ['ours vmlinux base ready after s', s(m((r) => r.baseReadyMs))],
      ['ours total wall s (download overlapping extract+parse)', s(total)],
      ['ours total / dpkg-deb', (total / d).toFixed(2)],
      ['goal ratio', GOAL_RATIO.toFixed(2)],
      ['ours sequential: download+verify wall s', s(ms((r) => r.downloadMs))],
      ['ours sequential: then extract+parse wall s', s(ms((r) => r.extractParseMs))],
      ['ours sequential: total wall s', s(ms((r) => r.totalMs))],
      ['ours sequential total / dpkg-deb', (ms((r) => r.totalMs) / d).toFixed(2)],
      ['ours CPU s (ingest process, all threads)', s(m((r) => r.cpuSelfMs))],
      ['ours CPU s (child processes)', s(m((r) => r.cpuChildrenMs))],
      [
        'ours CPU / dpkg-deb CPU',
        (m((r) => r.cpuSelfMs + r.cpuChildrenMs) / median(dpkg.map((x) => x.cpuMs))).toFixed(2),
      ],
      ['cores used (CPU s / wall s)', (m((r) => r.cpuSelfMs + r.cpuChildrenMs) / total).toFixed(2)],
      ['peak RSS ingest process MB', (Math.max(...all.map((r) => r.selfHwmKb)) / 1024).toFixed(0)],
      [
        'peak RSS child processes MB (sum of their peaks)',
        (Math.max(...all.map((r) => r.childrenHwmKb)) / 1024).toFixed(0),
      ],
      ['child processes', last.children],
      [
        'ingest process at its sampled peak MB',
        Object.entries(last.atPeakMb)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ],
      ['peak RSS total MB (process + children, upper bound)', rssBoundMb.toFixed(0)],
      ['peak RSS total sampled at once MB', (Math.max(...all.map((r) => r.treePeakKb)) / 1024).toFixed(0)],
      ['goal peak RSS MB', String(GOAL_RSS_MB)],
      ['peak RSS / goal', (rssBoundMb / GOAL_RSS_MB).toFixed(2)],
    ];
    for (const [k, v] of figures) console.log(`${k}: ${v}`);
  } finally {
    mirror.stdin?.end();
    rmSync(work, { recursive: true, force: true });
  }
}

function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Wall and CPU time of `dpkg-deb --fsys-tarfile PKG > /dev/null` (CPU from GNU time: all its threads). */
function dpkgDeb(pkg: string): Promise<{ wallMs: number; cpuMs: number }> {
  return new Promise((resolve, reject) => {
    const devnull = openSync('/dev/null', 'w');
    const start = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S', 'dpkg-deb', '--fsys-tarfile', pkg], {
      stdio: ['ignore', devnull, 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wallMs = performance.now() - start;
      closeSync(devnull);
      const [user, sys] = err.trim().split('\n').at(-1)!.split(' ').map(Number);
      if (code === 0) resolve({ wallMs, cpuMs: ((user ?? 0) + (sys ?? 0)) * 1000 });
      else reject(new Error(`dpkg-deb exited ${code}: ${err}`));
    });
  });
}

/** Node flags of the ingest processes: the libraries from the tsc build, or from source (--source). */
let ingestExecArgv: string[] = process.execArgv;

function ingestOnce(
  candidate: { url: string; sha256: string; size: number },
  dir: string,
  xzThreads: number,
  mode: 'overlapped' | 'sequential',
  profileDir: string | undefined,
  vmlinuxFirst: boolean,
): Promise<IngestReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...ingestExecArgv,
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
        new URL(import.meta.url).pathname,
        '--ingest-child',
        candidate.url,
        candidate.sha256,
        String(candidate.size),
        dir,
        String(xzThreads),
        mode,
        vmlinuxFirst ? 'vmlinux-first' : 'streaming',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`ingest process exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as IngestReport);
    });
  });
}

// Last, so every declaration above is initialised before one of the three roles runs.
if (!isMainThread && (workerData as { role?: string } | null)?.role === 'btf') await btfWorker();
else if (process.argv.includes('--ingest-child')) await ingestChild();
else await main();
