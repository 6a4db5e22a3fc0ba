// How fast the CLI answers: `btfwatch --help`, `inspect` of a vmlinux BTF and an offline `check` of 3 modules,
// each a fresh process of the tsc build (what `npm start` and the bin run), against `node -e 0` in the same run.
//   npm run bench -- cli-start [--runs N]
// Goal (issue 17): each ≤ 0.3 s wall.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixed, median, note, option, printFigures } from './support/figures.ts';

const root = new URL('..', import.meta.url).pathname;
const fixture = (relative: string) =>
  execFileSync('xz', ['-dc', join(root, 'test/fixtures/btf', relative)], { maxBuffer: 1 << 28 });
const GOAL_MS = 300;
const runs = Number(option(process.argv.slice(2), 'runs', '7'));

note('building the CLI (tsc -b apps/cli)');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'apps/cli'], {
  cwd: root,
});
const dir = mkdtempSync(join(tmpdir(), 'bw-cli-start-'));
try {
  const kernel = join(dir, 'vmlinux.btf');
  writeFileSync(kernel, fixture('6.1.0-56-amd64/vmlinux.btf.xz'));
  const modules = ['dummy.ko', 'veth.ko', 'overlay.ko'].map((m) => {
    const path = join(dir, m);
    writeFileSync(path, fixture(`6.1.0-55-amd64/modules/${m}.xz`));
    return path;
  });
  const bin = join(root, 'apps/cli/bin/btfwatch.mjs');
  const cases: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['btfwatch --help', [bin, '--help']],
    ['btfwatch inspect vmlinux BTF', [bin, 'inspect', kernel]],
    [
      'btfwatch check 3 modules',
      [bin, 'check', '--kernel', kernel, '--kernel-version', '6.1.192', ...modules],
    ],
  ];
  const wall = new Map<string, number>();
  for (const [name, args] of cases) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0 && !(name.startsWith('btfwatch check') && r.status === 1))
        throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
    }
    wall.set(name, median(times));
    note(`${name}: ${times.map((t) => t.toFixed(0)).join(' ')} ms`);
  }
  const node = wall.get('node -e 0')!;
  const figures: Record<string, string> = {
    runs: String(runs),
    'node -e 0 wall ms (median)': fixed(node, 1),
  };
  for (const [name] of cases.slice(1)) {
    const ms = wall.get(name)!;
    figures[`${name} wall ms (median)`] = fixed(ms, 1);
    figures[`${name} / node -e 0`] = fixed(ms / node);
    figures[`${name} / goal ${GOAL_MS} ms`] = fixed(ms / GOAL_MS);
  }
  printFigures(figures);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
