// libs/btf on real data, against bpftool in the same run.
//   npm run bench -- btf-parse [--runs N] [--skip-modules]
//
// 1. The 6.1.0-55 vmlinux BTF (test/fixtures/btf): parse + decode every type + structural (shape)
//    hash of every type, in process, against `bpftool btf dump file vmlinux.btf format raw > /dev/null`
//    (wall time of the whole bpftool process). Medians of N runs; our first (cold, unoptimised JIT)
//    run is reported apart. The breakdown adds what the headline leaves lazy: every member,
//    parameter and enum value; deep hashes; our own raw dump. The same pipeline is also timed on the
//    tsc build of libs/btf (what `npm start` runs; built here with `tsc -b libs/btf` unless --no-build):
//    tsx compiles with esbuild's keepNames, and redefining a base class's `name` makes every `super()`
//    call of the ~100k type objects slower.
// 2. Every module of linux-image-6.1.0-55-amd64-unsigned (fetched by test/fixtures/fetch-packages.sh,
//    extracted with dpkg-deb | tar into a temp dir): read its .BTF from the ELF, parse it over the
//    55 base, collect its base references and check them against the precomputed 55 → 56 diff.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

function bpftoolOnce(): number {
  const devnull = openSync('/dev/null', 'w');
  const start = performance.now();
  const r = spawnSync(BPFTOOL, ['btf', 'dump', 'file', vmlinuxPath, 'format', 'raw'], {
    stdio: ['ignore', devnull, 'inherit'],
  });
  const wall = performance.now() - start;
  closeSync(devnull);
  if (r.status !== 0) throw new Error(`bpftool failed: ${r.status}`);
  return wall;
}

interface OursRun {
  parse: number;
  decode: number;
  hash: number;
  total: number;
  members: number;
  deep: number;
  types: number;
  entries: number;
}

type Lib = Pick<typeof import('@btfwatch/btf'), 'Btf' | 'StructuralHashes'>;

function oursOnce(lib: Lib = { Btf, StructuralHashes }): OursRun {
  const t0 = performance.now();
  const btf = lib.Btf.parse(vmlinuxBytes);
  const t1 = performance.now();
  for (let id = btf.startId; id < btf.nrTypes; id++) btf.type(id);
  const t2 = performance.now();
  const hashes = lib.StructuralHashes.of(btf);
  const t3 = performance.now();
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
    parse: t1 - t0,
    decode: t2 - t1,
    hash: t3 - t2,
    total: t3 - t0,
    members: t4 - t3,
    deep: t5 - t4,
    types: btf.count,
    entries,
  };
}

const cold = oursOnce();
const ours: OursRun[] = [];
const theirs: number[] = [];
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

  const checkRuns: number[] = [];
  let withBtf = 0;
  let btfMB = 0;
  let hitTypes = 0;
  let hitStrings = 0;
  let equivalent = 0;
  for (let r = 0; r < Math.max(3, Math.ceil(runs / 2)); r++) {
    withBtf = btfMB = hitTypes = hitStrings = equivalent = 0;
    const start = performance.now();
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
      const check = checkModuleRefs(moduleBaseRefs(openBtf(file, a)), diff);
      if (check.changedTypeIds.length > 0) hitTypes++;
      if (check.changedStringOffsets.length > 0) hitStrings++;
      if (check.equivalent) equivalent++;
    }
    checkRuns.push(performance.now() - start);
  }
  const checkMs = median(checkRuns);
  moduleFigures = {
    modules: String(modules.length),
    'modules with BTF': String(withBtf),
    'module MB (ELF, read before timing)': moduleMB.toFixed(1),
    'module BTF MB': btfMB.toFixed(1),
    'module read ms (untimed below)': ms(readMs),
    'diff 55→56 ms (once per base pair)': ms(diffMs),
    'diff changed type ids': String(diff.changedTypeIds.length),
    'diff changed string bytes': String(diff.changedStringBytes),
    'modules whose refs hit changed types': String(hitTypes),
    'modules whose refs hit changed strings': String(hitStrings),
    'modules equivalent on 56': String(equivalent),
    'module check all ms (ELF → .BTF → parse → refs → check, median)': ms(checkMs),
    'module check per module µs': ((checkMs * 1000) / Math.max(1, modules.length)).toFixed(1),
    'module check goal ms': '2000',
    'module check / goal': (checkMs / 2000).toFixed(3),
  };
}

const bpftoolMs = median(theirs);
const oursMs = pick('total');
const figures: Record<string, string> = {
  'runs (median of)': String(runs),
  'vmlinux types': String(cold.types),
  'vmlinux members+params+values+vars': String(cold.entries),
  'bpftool raw dump wall ms': ms(bpftoolMs),
  'ours parse ms': ms(pick('parse')),
  'ours decode every type ms': ms(pick('decode')),
  'ours shape hash every type ms': ms(pick('hash')),
  'ours parse+decode+hash ms': ms(oursMs),
  'ours parse+decode+hash cold ms': ms(cold.total),
  'ours parse+decode+hash / bpftool': (oursMs / bpftoolMs).toFixed(2),
  'ours parse+decode+hash cold / bpftool': (cold.total / bpftoolMs).toFixed(2),
  'goal ratio': '0.50',
  ...(built.length > 0
    ? {
        'ours tsc build parse+decode+hash ms': ms(median(built.map((r) => r.total))),
        'ours tsc build decode every type ms': ms(median(built.map((r) => r.decode))),
        'ours tsc build parse+decode+hash / bpftool': (median(built.map((r) => r.total)) / bpftoolMs).toFixed(
          2,
        ),
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
