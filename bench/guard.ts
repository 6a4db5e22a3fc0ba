// `btfwatch guard` on a real ~70 MB kernel package, as apt's hook runs it (the tsc build of the CLI, a
// fresh process per run), against `dpkg-deb --fsys-tarfile PKG > /dev/null` on the same file in the same run.
//   npm run bench -- guard [--runs N] [--source]
//
// Two real packages (test/fixtures/fetch-packages.sh, cached), the booted kernel standing in by its real
// BTF and config (test/fixtures/btf/6.1.0-56-amd64):
//   - own: linux-image-6.1.0-56-amd64-unsigned 6.1.192-2 on 6.1.0-56 — every module `identical` by its
//     build base's hash, so the run is reading the package and hashing its vmlinux BTF;
//   - other build: linux-image-6.1.0-55-amd64-unsigned 6.1.192-1 judged as if it carried the running
//     release (--booted-release 6.1.0-55-amd64 with 6.1.0-56's BTF): every module is validated against the
//     booted kernel's base, as for an upload U that reuses the release — the most work a package can cause.
// Wall time is the whole process (start-up, reading, judging, the report). Peak RSS is the process tree
// (the CLI and the xz decoders it spawns): sampled from /proc every 50 ms, both as the largest sum seen at
// once and as the sum of each process's own high-water mark (an upper bound).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixed, median, note, option, flag, printFigures } from './support/figures.ts';

const root = new URL('..', import.meta.url).pathname;
const OWN = 'linux-image-6.1.0-56-amd64-unsigned_6.1.192-2_amd64.deb';
const OTHER = 'linux-image-6.1.0-55-amd64-unsigned_6.1.192-1_amd64.deb';
const GOAL_SECONDS = 5;
const GOAL_RSS_MB = 512;

interface Run {
  wallMs: number;
  cpuMs: number;
  /** Largest RSS sum of the tree seen in one sample. */
  treeKb: number;
  /** Sum over the tree's processes of their own VmHWM. */
  hwmSumKb: number;
  processes: string[];
  status: number | null;
  stdout: string;
}

function fetchPackage(name: string): string {
  const out = execFileSync(join(root, 'test/fixtures/fetch-packages.sh'), [name], { encoding: 'utf8' });
  return out.trim().split('\n').at(-1)!;
}

function status(pid: number): Map<string, string> | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    return new Map(
      text.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    );
  } catch {
    return null;
  }
}

const kb = (field: string | undefined) => Number.parseInt(field ?? '0', 10) || 0;

/** The pids under `rootPid` (itself included), from each process's parent in /proc/<pid>/stat. */
function tree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(rootPid);
  return out;
}

/** One run of a command, with its wall time, CPU (GNU time: the whole tree) and the tree's peak RSS. */
function measure(command: string, args: string[], stdoutTo: 'capture' | 'devnull'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const devnull = stdoutTo === 'devnull' ? openSync('/dev/null', 'w') : null;
    const start = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'CPU %U %S', command, ...args], {
      cwd: root,
      stdio: ['ignore', devnull ?? 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const hwm = new Map<number, number>();
    const names = new Map<number, string>();
    let treeKb = 0;
    const sample = () => {
      let sum = 0;
      for (const pid of tree(child.pid!)) {
        if (pid === child.pid) continue; // GNU time itself
        const s = status(pid);
        if (!s) continue;
        sum += kb(s.get('VmRSS'));
        hwm.set(pid, Math.max(hwm.get(pid) ?? 0, kb(s.get('VmHWM'))));
        names.set(pid, s.get('Name') ?? '?');
      }
      treeKb = Math.max(treeKb, sum);
    };
    const timer = setInterval(sample, 50);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const wallMs = performance.now() - start;
      if (devnull !== null) closeSync(devnull);
      const cpu = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      resolve({
        wallMs,
        cpuMs: cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : Number.NaN,
        treeKb,
        hwmSumKb: [...hwm.values()].reduce((a, b) => a + b, 0),
        processes: [...new Set(names.values())],
        status: code,
        stdout,
      });
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runs = Number(option(args, 'runs', '3'));
  const fromSource = flag(args, 'source');
  if (!fromSource)
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', join(root, 'apps/cli')], { stdio: 'inherit' });
  const cli = fromSource
    ? ['--conditions=btfwatch-source', '--import', 'tsx', join(root, 'apps/cli/src/main.ts')]
    : [join(root, 'apps/cli/bin/btfwatch.mjs')];

  const own = fetchPackage(OWN);
  const other = fetchPackage(OTHER);
  const work = mkdtempSync(join(tmpdir(), 'btfwatch-bench-guard-'));
  try {
    const xz = (rel: string) =>
      execFileSync('xz', ['-dc', join(root, 'test/fixtures/btf', rel)], { maxBuffer: 1 << 28 });
    const btf = join(work, 'vmlinux.btf');
    writeFileSync(btf, xz('6.1.0-56-amd64/vmlinux.btf.xz'));
    const config = join(work, 'config');
    writeFileSync(config, xz('6.1.0-56-amd64/config.xz'));
    const booted = (release: string) => [
      'guard',
      '--booted-btf',
      btf,
      '--booted-release',
      release,
      '--booted-config',
      config,
    ];
    const cases = {
      own: { pkg: own, args: [...booted('6.1.0-56-amd64'), own] },
      other: { pkg: other, args: [...booted('6.1.0-55-amd64'), other] },
    };

    // Untimed: what each run decides (the JSON report), and warm page cache for both sides.
    const verdicts: Record<string, string> = {};
    let modules = 0;
    for (const [name, c] of Object.entries(cases)) {
      const r = await measure(process.execPath, [...cli, ...c.args, '--json'], 'capture');
      const report = JSON.parse(r.stdout) as {
        decision: { action: string };
        verdicts: Array<{ btf: string; load: string }>;
      };
      const counts = new Map<string, number>();
      for (const v of report.verdicts)
        counts.set(`${v.btf}/${v.load}`, (counts.get(`${v.btf}/${v.load}`) ?? 0) + 1);
      verdicts[name] = `${report.decision.action} (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')})`;
      modules = report.verdicts.length;
    }

    const dpkg: Run[] = [];
    const ours: Record<keyof typeof cases, Run[]> = { own: [], other: [] };
    for (let i = 0; i < runs; i++) {
      for (const [name, c] of Object.entries(cases) as Array<[keyof typeof cases, (typeof cases)['own']]>) {
        dpkg.push(await measure('dpkg-deb', ['--fsys-tarfile', c.pkg], 'devnull'));
        const r = await measure(process.execPath, [...cli, ...c.args], 'devnull');
        if (r.status !== 0 && r.status !== 1) throw new Error(`guard exited ${r.status}`);
        ours[name].push(r);
        note(
          `run ${i + 1}/${runs} ${name}: ${fixed(r.wallMs / 1000)} s, tree ${(r.treeKb / 1024).toFixed(0)} MB`,
        );
      }
    }

    const d = median(dpkg.map((r) => r.wallMs));
    const dCpu = median(dpkg.map((r) => r.cpuMs));
    const s = (ms: number) => fixed(ms / 1000);
    const figures: Record<string, string> = {
      'package (own build)': OWN,
      'package (other build, judged as the running release)': OTHER,
      'package MB': fixed(readFileSync(own).byteLength / 1e6, 1),
      'modules judged per package': String(modules),
      'verdicts own': verdicts.own!,
      'verdicts other': verdicts.other!,
      cores: String(availableParallelism()),
      machine: `shared with other sessions: load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      'runs (median of)': String(runs),
      cli: fromSource
        ? 'TypeScript source through tsx'
        : 'tsc build (apps/cli/bin/btfwatch.mjs, as the hook runs it)',
      'dpkg-deb --fsys-tarfile wall s': s(d),
      'dpkg-deb CPU s': s(dCpu),
    };
    let worstWall = 0;
    let worstRss = 0;
    for (const name of ['own', 'other'] as const) {
      const wall = median(ours[name].map((r) => r.wallMs));
      const cpu = median(ours[name].map((r) => r.cpuMs));
      const tree = Math.max(...ours[name].map((r) => r.treeKb)) / 1024;
      const bound = Math.max(...ours[name].map((r) => r.hwmSumKb)) / 1024;
      worstWall = Math.max(worstWall, wall);
      worstRss = Math.max(worstRss, tree);
      Object.assign(figures, {
        [`guard ${name} wall s`]: s(wall),
        [`guard ${name} / dpkg-deb`]: fixed(wall / d),
        [`guard ${name} CPU s (process tree)`]: s(cpu),
        [`guard ${name} CPU / dpkg-deb CPU`]: fixed(cpu / dCpu),
        [`guard ${name} peak RSS tree MB (sampled at once)`]: tree.toFixed(0),
        [`guard ${name} peak RSS MB (sum of each process's peak, upper bound)`]: bound.toFixed(0),
        [`guard ${name} processes`]: ours[name].at(-1)!.processes.join(' '),
      });
    }
    Object.assign(figures, {
      'goal wall s': String(GOAL_SECONDS),
      'worst wall / goal': fixed(worstWall / 1000 / GOAL_SECONDS),
      'goal peak RSS MB': String(GOAL_RSS_MB),
      'worst peak RSS / goal': fixed(worstRss / GOAL_RSS_MB),
    });
    printFigures(figures);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
