// Memory and CPU of a process and every descendant, read from /proc (Linux only).
import { readFileSync, readdirSync } from 'node:fs';

const PAGE = 4096;
const TICK_MS = 10; // USER_HZ = 100 on Linux

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  rssBytes: number;
  /** utime + stime of the process itself (all its threads). */
  cpuMs: number;
  /** cutime + cstime: children it has waited for. */
  childrenCpuMs: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text
    .slice(close + 2)
    .split(' ')
    .map(Number);
  // f[0] is field 3 (state); ppid field 4, utime 14, stime 15, cutime 16, cstime 17, rss 24.
  return {
    pid,
    ppid: f[1]!,
    comm,
    rssBytes: f[21]! * PAGE,
    cpuMs: (f[11]! + f[12]!) * TICK_MS,
    childrenCpuMs: (f[13]! + f[14]!) * TICK_MS,
  };
}

/** `root` and its live descendants. */
export function processTree(root: number): ProcStat[] {
  const all = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.set(s.pid, s);
  }
  const out: ProcStat[] = [];
  const want = new Set([root]);
  // Parents have lower pids most of the time, but not always: iterate to a fixed point.
  for (let grew = true; grew;) {
    grew = false;
    for (const s of all.values()) {
      if (!want.has(s.pid) && want.has(s.ppid)) {
        want.add(s.pid);
        grew = true;
      }
    }
  }
  for (const pid of want) {
    const s = all.get(pid);
    if (s) out.push(s);
  }
  return out;
}

/** CPU so far of the tree: each live process's own time plus what it collected from children it reaped. */
export function treeCpuMs(root: number): number {
  return processTree(root).reduce((n, s) => n + s.cpuMs + s.childrenCpuMs, 0);
}

export interface TreeSampler {
  /** Highest sum of RSS over the tree seen so far, in bytes. */
  peakBytes(): number;
  /** The commands that made up the tree at its peak. */
  atPeak(): string;
  stop(): void;
}

/** Sums the tree's RSS every `everyMs` (an RSS sum counts shared pages once per process: an upper bound). */
export function sampleTree(root: number, everyMs = 50): TreeSampler {
  let peak = 0;
  let peakComms = '';
  const tick = () => {
    const tree = processTree(root);
    const sum = tree.reduce((n, s) => n + s.rssBytes, 0);
    if (sum > peak) {
      peak = sum;
      peakComms = tree.map((s) => `${s.comm}:${Math.round(s.rssBytes / 1e6)}MB`).join(' ');
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  return {
    peakBytes: () => peak,
    atPeak: () => peakComms,
    stop: () => {
      tick();
      clearInterval(timer);
    },
  };
}
