// libs/btf on real data, against bpftool in the same run.
//   npm run bench -- btf-parse [--runs N] [--skip-modules] [--no-build]
//
// 1. The 6.1.0-55 vmlinux BTF (test/fixtures/btf): parse + kernel-faithful validation (the checks the
//    kernel runs on its own BTF at boot: header, strings, every type's check_meta, modifier chains) +
//    decode every type + its identity hash (sha256 of the bytes: what ingest stores and hosts compare),
//    in process, against `bpftool btf dump file vmlinux.btf format raw > /dev/null` (wall time of the
//    whole bpftool process). Goal: ours ≤ 0.5× bpftool. The same plus a structural (shape) hash of every
//    one of the ~100k types (what the kernel diff's changed-named-types list needs, computed on demand,
//    not at ingest) is reported beside it with its own ratios. Medians of N runs; our first (cold, unoptimised JIT) run is
//    reported apart. The breakdown adds what the headline leaves lazy: every member, parameter and enum
//    value; deep hashes; our own raw dump. The same pipeline is also timed on the tsc build of libs/btf
//    (what `npm start` runs; built here with `tsc -b libs/btf` unless --no-build): tsx compiles with
//    esbuild's keepNames, and redefining a base class's `name` makes every `super()` call of the ~100k
//    type objects slower.
// 2. Every module of linux-image-6.1.0-55-amd64-unsigned (fetched by test/fixtures/fetch-packages.sh,
//    extracted with dpkg-deb | tar into a temp dir) checked against the foreign 6.1.0-56 base: read its
//    .BTF from the ELF, validate it against the 56 vmlinux as 6.1.192 does (validateModuleBtf), parse it
//    over its own 55 base, collect its base references and check them against the precomputed 55 → 56
//    diff. Every step runs for every module, whatever the validation says (the product stops at a
//    rejection: this is its worst case). Goal: < 2 s for the package. Validation against the module's
//    own base, where every check runs to the end, is timed apart.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Btf,
  BtfError,
  Kind,
  StructuralHashes,
  checkModuleRefs,
  diffBases,
  dumpRaw,
  moduleBaseRefs,
  openBtf,
  readBtfFromFile,
  validateBaseBtf,
  validateModuleBtf,
  type KernelTarget,
} from '@btfwatch/btf';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;
const skipModules = args.includes('--skip-modules');
const build = !args.includes('--no-build');
const BPFTOOL =
  ['/usr/sbin/bpftool', '/usr/bin/bpftool'].find((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  }) ?? 'bpftool';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (x: number) => x.toFixed(1);
const fixture = (release: string) =>
  execFileSync('xz', ['-dc', join(root, 'test/fixtures/btf', release, 'vmlinux.btf.xz')], {
    maxBuffer: 1 << 30,
  });

const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-btf-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// ---- 1. vmlinux
const vmlinuxBytes = fixture('6.1.0-55-amd64');
const vmlinuxPath = join(work, 'vmlinux.btf');
writeFileSync(vmlinuxPath, vmlinuxBytes);

/**
 * One bpftool run: wall time of the process, and its CPU time (user + system, from the shell's
 * `times`), which a busy shared machine distorts far less than wall time.
 */
function bpftoolOnce(): { wall: number; cpu: number } {
  const start = performance.now();
  const r = spawnSync(
    'sh',
    ['-c', '"$0" btf dump file "$1" format raw > /dev/null || exit 1; times', BPFTOOL, vmlinuxPath],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const wall = performance.now() - start;
  if (r.status !== 0) throw new Error(`bpftool failed: ${r.status}`);
  // Second line: the children's user and system time, "0m0.250000s 0m0.190000s".
  const children = r.stdout.trim().split('\n')[1] ?? '';
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, m) => sum + (Number(m[1]) * 60 + Number(m[2])) * 1000,
    0,
  );
  return { wall, cpu };
}

/** CPU time (user + system, all threads of this process) spent in `run`, in ms. */
function cpuMs<T>(run: () => T): { value: T; cpu: number } {
  const before = process.cpuUsage();
  const value = run();
  const used = process.cpuUsage(before);
  return { value, cpu: (used.user + used.system) / 1000 };
}

/** Both 6.1 builds are Debian 6.1.192 (package versions 6.1.192-1 and -2); their config allows BTF mismatch. */
const TARGET: KernelTarget = { kernelVersion: '6.1.192', allowBtfMismatch: true };

interface OursRun {
  /** Parse + validate + decode + identity hash. */
  cpu: number;
  cpuWithShapes: number;
  totalWithShapes: number;
  parse: number;
  validate: number;
  decode: number;
  hash: number;
  total: number;
  members: number;
  deep: number;
  types: number;
  entries: number;
}

type Lib = Pick<typeof import('@btfwatch/btf'), 'Btf' | 'StructuralHashes' | 'validateBaseBtf'>;

function oursOnce(lib: Lib = { Btf, StructuralHashes, validateBaseBtf }): OursRun {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const btf = lib.Btf.parse(vmlinuxBytes);
  const tParsed = performance.now();
  const verdict = lib.validateBaseBtf(vmlinuxBytes, TARGET);
  if (!verdict.ok) throw new Error(`vmlinux BTF fails the kernel's checks: ${verdict.error.message}`);
  const t1 = performance.now();
  for (let id = btf.startId; id < btf.nrTypes; id++) btf.type(id);
  const identity = createHash('sha256').update(vmlinuxBytes).digest('hex');
  const t2 = performance.now();
  const usedToIdentity = process.cpuUsage(cpu0);
  const hashes = lib.StructuralHashes.of(btf);
  const t3 = performance.now();
  const used = process.cpuUsage(cpu0);
  if (identity.length !== 64) throw new Error('sha256');
  let entries = 0;
  for (let id = btf.startId; id < btf.nrTypes; id++) {
    const t = btf.type(id);
    switch (t.kind) {
      case Kind.Struct:
      case Kind.Union:
        entries += t.members.length;
        break;
      case Kind.Enum:
      case Kind.Enum64:
        entries += t.values.length;
        break;
      case Kind.FuncProto:
        entries += t.params.length;
        break;
      case Kind.Datasec:
        entries += t.vars.length;
        break;
      default:
    }
  }
  const t4 = performance.now();
  hashes.deep(1);
  const t5 = performance.now();
  return {
    cpu: (usedToIdentity.user + usedToIdentity.system) / 1000,
    cpuWithShapes: (used.user + used.system) / 1000,
    parse: tParsed - t0,
    validate: t1 - tParsed,
    decode: t2 - t1,
    hash: t3 - t2,
    total: t2 - t0,
    totalWithShapes: t3 - t0,
    members: t4 - t3,
    deep: t5 - t4,
    types: btf.count,
    entries,
  };
}

const cold = oursOnce();
const ours: OursRun[] = [];
const theirs: Array<{ wall: number; cpu: number }> = [];
for (let i = 0; i < runs; i++) {
  theirs.push(bpftoolOnce());
  ours.push(oursOnce());
}
const dumps: number[] = [];
for (let i = 0; i < Math.max(3, Math.ceil(runs / 2)); i++) {
  const btf = Btf.parse(vmlinuxBytes);
  const start = performance.now();
  dumpRaw(btf);
  dumps.push(performance.now() - start);
}
const pick = (k: keyof OursRun) => median(ours.map((r) => r[k]));

// The tsc build, in this process.
let built: OursRun[] = [];
if (build)
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', join(root, 'libs/btf')], { stdio: 'inherit' });
try {
  const lib = (await import(join(root, 'libs/btf/dist/index.js'))) as Lib;
  oursOnce(lib);
  built = Array.from({ length: runs }, () => oursOnce(lib));
} catch (err) {
  console.error(`no tsc build of libs/btf to time: ${(err as Error).message}`);
}

// ---- 2. every module of a real package against a foreign base
let moduleFigures: Record<string, string> = {};
if (!skipModules) {
  const pkg = spawnSync(`${root}test/fixtures/fetch-packages.sh`, ['linux-image-6.1.0-55-amd64-unsigned'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .stdout.trim()
    .split('\n')
    .pop();
  if (!pkg) throw new Error('fetch-packages.sh found no package');
  const tree = join(work, 'pkg');
  execFileSync('mkdir', ['-p', tree]);
  execFileSync('sh', [
    '-c',
    'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "*.ko"',
    'sh',
    pkg,
    tree,
  ]);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ko')) files.push(p);
    }
  };
  walk(tree);
  const readStart = performance.now();
  const modules = files.map((f) => readFileSync(f));
  const readMs = performance.now() - readStart;
  const moduleMB = modules.reduce((n, b) => n + b.byteLength, 0) / 1e6;

  const a = Btf.parse(vmlinuxBytes);
  const b = Btf.parse(fixture('6.1.0-56-amd64'));
  const diffStart = performance.now();
  const diff = diffBases(a, b);
  const diffMs = performance.now() - diffStart;

  const own: Uint8Array[] = [];
  const checkRuns: number[] = [];
  const checkCpu: number[] = [];
  let withBtf = 0;
  let btfMB = 0;
  let hitTypes = 0;
  let hitStrings = 0;
  let equivalent = 0;
  let rejected = 0;
  for (let r = 0; r < Math.max(3, Math.ceil(runs / 2)); r++) {
    withBtf = btfMB = hitTypes = hitStrings = equivalent = rejected = 0;
    const start = performance.now();
    const cpu0 = process.cpuUsage();
    for (const bytes of modules) {
      let file;
      try {
        file = readBtfFromFile(bytes);
      } catch (err) {
        if (err instanceof BtfError && err.code === 'BTF_NOT_FOUND') continue;
        throw err;
      }
      withBtf++;
      btfMB += file.btf.byteLength / 1e6;
      if (!validateModuleBtf(file.btf, b, TARGET, 'm').ok) rejected++;
      const check = checkModuleRefs(moduleBaseRefs(openBtf(file, a)), diff);
      if (check.changedTypeIds.length > 0) hitTypes++;
      if (check.changedStringOffsets.length > 0) hitStrings++;
      if (check.equivalent) equivalent++;
      if (r === 0) own.push(file.btf);
    }
    checkRuns.push(performance.now() - start);
    const used = process.cpuUsage(cpu0);
    checkCpu.push((used.user + used.system) / 1000);
  }
  // Validation where nothing stops early: every module against the base it was built on.
  const ownRuns: number[] = [];
  const ownCpu: number[] = [];
  let ownAccepted = 0;
  for (let r = 0; r < Math.max(3, Math.ceil(runs / 2)); r++) {
    ownAccepted = 0;
    const start = performance.now();
    const { cpu } = cpuMs(() => {
      for (const btf of own) if (validateModuleBtf(btf, a, TARGET, 'm').ok) ownAccepted++;
    });
    ownRuns.push(performance.now() - start);
    ownCpu.push(cpu);
  }
  const ownMs = median(ownRuns);
  const checkMs = median(checkRuns);
  const checkCpuMs = median(checkCpu);
  moduleFigures = {
    modules: String(modules.length),
    'modules with BTF': String(withBtf),
    'module MB (ELF, read before timing)': moduleMB.toFixed(1),
    'module BTF MB': btfMB.toFixed(1),
    'module read ms (untimed below)': ms(readMs),
    'diff 55→56 ms (once per base pair)': ms(diffMs),
    'diff changed type ids': String(diff.changedTypeIds.length),
    'diff changed string bytes': String(diff.changedStringBytes),
    'modules rejected by 6.1.192 on the 56 base': String(rejected),
    'modules whose refs hit changed types': String(hitTypes),
    'modules whose refs hit changed strings': String(hitStrings),
    'modules equivalent on 56': String(equivalent),
    'module validate on own base all ms (every check to the end, median)': ms(ownMs),
    'module validate on own base all CPU ms': ms(median(ownCpu)),
    'modules accepted on own base': String(ownAccepted),
    'module check all ms (ELF → .BTF → validate on 56 → parse → refs → check, median)': ms(checkMs),
    'module check all CPU ms': ms(checkCpuMs),
    'module check per module µs': ((checkMs * 1000) / Math.max(1, modules.length)).toFixed(1),
    'module check goal ms': '2000',
    'module check / goal': (checkMs / 2000).toFixed(3),
    'module check CPU / goal': (checkCpuMs / 2000).toFixed(3),
  };
}

const bpftoolMs = median(theirs.map((t) => t.wall));
const bpftoolCpu = median(theirs.map((t) => t.cpu));
const oursMs = pick('total');
const figures: Record<string, string> = {
  'runs (median of)': String(runs),
  'vmlinux types': String(cold.types),
  'vmlinux members+params+values+vars': String(cold.entries),
  'bpftool raw dump wall ms': ms(bpftoolMs),
  'bpftool raw dump CPU ms': ms(bpftoolCpu),
  'ours parse ms': ms(pick('parse')),
  'ours validate (kernel checks) ms': ms(pick('validate')),
  'ours decode every type + sha256 ms': ms(pick('decode')),
  'ours shape hash every type ms': ms(pick('hash')),
  'ours parse+validate+decode+hash ms': ms(oursMs),
  'ours parse+validate+decode+hash cold ms': ms(cold.total),
  'ours parse+validate+decode+hash CPU ms': ms(pick('cpu')),
  'ours parse+validate+decode+hash / bpftool': (oursMs / bpftoolMs).toFixed(2),
  'ours parse+validate+decode+hash CPU / bpftool CPU': (pick('cpu') / bpftoolCpu).toFixed(2),
  'ours parse+validate+decode+hash cold / bpftool': (cold.total / bpftoolMs).toFixed(2),
  'goal ratio': '0.50',
  'ours + shape hash every type ms': ms(pick('totalWithShapes')),
  'ours + shape hash every type / bpftool': (pick('totalWithShapes') / bpftoolMs).toFixed(2),
  'ours + shape hash every type CPU / bpftool CPU': (pick('cpuWithShapes') / bpftoolCpu).toFixed(2),
  ...(built.length > 0
    ? {
        'ours tsc build parse+validate+decode+hash ms': ms(median(built.map((r) => r.total))),
        'ours tsc build validate ms': ms(median(built.map((r) => r.validate))),
        'ours tsc build decode every type + sha256 ms': ms(median(built.map((r) => r.decode))),
        'ours tsc build parse+validate+decode+hash / bpftool': (
          median(built.map((r) => r.total)) / bpftoolMs
        ).toFixed(2),
        'ours tsc build parse+validate+decode+hash CPU / bpftool CPU': (
          median(built.map((r) => r.cpu)) / bpftoolCpu
        ).toFixed(2),
        'ours tsc build + shape hash every type / bpftool': (
          median(built.map((r) => r.totalWithShapes)) / bpftoolMs
        ).toFixed(2),
        'ours tsc build + shape hash every type CPU / bpftool CPU': (
          median(built.map((r) => r.cpuWithShapes)) / bpftoolCpu
        ).toFixed(2),
      }
    : {}),
  'ours + every member/param/value ms': ms(oursMs + pick('members')),
  'ours + every member/param/value / bpftool': ((oursMs + pick('members')) / bpftoolMs).toFixed(2),
  'ours deep hash every type ms': ms(pick('deep')),
  'ours raw dump (string) ms': ms(median(dumps)),
  'ours raw dump / bpftool': (median(dumps) / bpftoolMs).toFixed(2),
  ...moduleFigures,
  'peak RSS MB': String(Math.round(process.resourceUsage().maxRSS / 1024)),
};
for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`);
