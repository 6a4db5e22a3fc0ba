// A whole suite unattended: one-shot `btfwatch scan` of the real mirror's bookworm-security, amd64, with no
// --match (every linux-image, -cloud and -rt flavour, signed and unsigned, and their headers), into a fresh
// embedded database: scanned, ingested and evaluated. The reference in the same run is `curl` fetching the
// same package URLs to /dev/null with the same per-host concurrency: the network floor.
//   npm run bench -- scan-suite [--suite bookworm-security] [--archive debian-security|debian]
//                               [--match PATTERN ...] [--keep] [--parallel 4]
//
// The mirror is the machine's (BTFWATCH_DEBIAN_SECURITY_MIRROR / BTFWATCH_DEBIAN_MIRROR, else the URIs of
// its apt sources), never a fixed host. curl runs before and after btfwatch, so neither side alone gets a
// cache the mirror may keep warm; the faster curl run is the floor. While btfwatch runs, its scratch
// directory (DATA_DIR/downloads) is measured every second: a package's download is deleted once it is
// ingested, so the peak stays near (ingest concurrency × the largest package), not the suite's size.
// btfwatch_s is the process from start to exit (database start and migrations included); btfwatch_scan_s
// is what the command itself reports for the scan, ingests and evaluations.
// --match narrows the run (quick checks); the headline figures are for the whole suite.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanApt, type Candidate } from '@btfwatch/mirror';
import { fixed, flag, mb, note, option, printFigures } from './support/figures.ts';
import { directoryBytes } from './support/sizes.ts';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const suite = option(args, 'suite', 'bookworm-security');
const archive = option(args, 'archive', suite.endsWith('-security') ? 'debian-security' : 'debian');
const parallel = Number(option(args, 'parallel', '4'));
const patterns = args.flatMap((a, i) => (a === '--match' && args[i + 1] ? [args[i + 1]!] : []));

/** The archive's URL as fetch-packages.sh finds it: the environment, else this machine's apt sources. */
function mirrorUrl(): string {
  const env =
    archive === 'debian-security'
      ? process.env.BTFWATCH_DEBIAN_SECURITY_MIRROR
      : process.env.BTFWATCH_DEBIAN_MIRROR;
  if (env) return env;
  const sources = ['/etc/apt/sources.list']
    .concat(readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)))
    .filter((f) => /\.(list|sources)$/.test(f))
    .map((f) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    })
    .join('\n');
  const want = new RegExp(`^https?://\\S+/${archive}/?$`);
  const url = (sources.match(/https?:\/\/\S+/g) ?? []).find((u) => want.test(u));
  if (!url) throw new Error(`no ${archive} mirror in the apt sources (set BTFWATCH_DEBIAN_*MIRROR)`);
  return url;
}

/** curl over every URL, `parallel` at a time (as the service's per-host limit): seconds and bytes. */
async function curlAll(urls: readonly string[]): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  const child = spawn(
    'xargs',
    ['-P', String(parallel), '-n', '1', 'curl', '-fsS', '-o', '/dev/null', '-w', '%{size_download}\\n'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end(urls.join('\n'));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`curl failed (${code})`);
  const bytes = out
    .split('\n')
    .filter(Boolean)
    .reduce((n, l) => n + Number(l), 0);
  return { seconds: (performance.now() - started) / 1000, bytes };
}

interface ScanRun {
  seconds: number;
  peakScratch: number;
  peakRssKb: number;
  stdout: string;
  code: number | null;
}

/** `btfwatch scan` as a user runs it (the built CLI, `npm start`'s node), watched from outside. */
async function btfwatchScan(url: string, dataDir: string): Promise<ScanRun> {
  const cli = join(root, 'apps/cli/bin/btfwatch.mjs');
  const argv = [
    'scan',
    '--apt',
    url,
    '--suite',
    suite,
    '--arch',
    'amd64',
    ...patterns.flatMap((p) => ['--match', p]),
  ];
  note(`btfwatch ${argv.join(' ')}`);
  const started = performance.now();
  const child = spawn(process.execPath, [cli, ...argv], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let lastProgress = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split(/[\r\n]/)) if (line.trim()) lastProgress = line.trim();
  });
  let peakScratch = 0;
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    peakScratch = Math.max(peakScratch, directoryBytes(join(dataDir, 'downloads')));
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakRssKb = Math.max(peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited
    }
  }, 1000);
  const progress = setInterval(
    () => note(`${((performance.now() - started) / 1000).toFixed(0)} s: ${lastProgress}`),
    60_000,
  );
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  clearInterval(progress);
  return { seconds: (performance.now() - started) / 1000, peakScratch, peakRssKb, stdout, code };
}

const url = mirrorUrl();
note(
  `mirror ${url}, suite ${suite}, amd64${patterns.length ? `, match ${patterns.join(' ')}` : ', every kernel package'}`,
);
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b'], {
  cwd: root,
  stdio: 'inherit',
});

// The packages the service will fetch: the same scanner, the same selection.
const listing = await scanApt({
  url,
  suite,
  architectures: ['amd64'],
  ...(patterns.length ? { match: patterns } : {}),
});
if (!listing.changed) throw new Error('unreachable: no state was given');
const candidates: Candidate[] = [...new Map(listing.packages.map((p) => [p.sha256, p])).values()];
const listedBytes = candidates.reduce((n, p) => n + p.size, 0);
const largest = Math.max(...candidates.map((p) => p.size));
note(`${candidates.length} packages, ${mb(listedBytes)} MB (largest ${mb(largest)} MB)`);

const curlBefore = await curlAll(candidates.map((p) => p.url));
note(`curl: ${fixed(curlBefore.seconds, 1)} s`);
const dataDir = mkdtempSync(join(tmpdir(), 'btfwatch-scan-suite-'));
let run: ScanRun;
let pgdataBytes = Number.NaN;
try {
  run = await btfwatchScan(url, dataDir);
  pgdataBytes = directoryBytes(join(dataDir, 'pgdata'));
} finally {
  if (flag(args, 'keep')) note(`kept ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}
const curlAfter = await curlAll(candidates.map((p) => p.url));
note(`curl again: ${fixed(curlAfter.seconds, 1)} s`);
process.stderr.write(run.stdout);
if (run.code !== 0) note(`btfwatch scan exited ${run.code}`);

const line = (re: RegExp) => re.exec(run.stdout);
const listed = line(/^packages: (\d+) listed, (\d+) ingested, (\d+) failed/m);
const summary = line(/^time: ([\d.]+) s, downloaded: ([\d.]+) MB in (\d+) requests, database: ([\d.]+) MB/m);
const floor = Math.min(curlBefore.seconds, curlAfter.seconds);
const downloadedMb = Number(summary?.[2] ?? Number.NaN);
printFigures({
  packages: candidates.length,
  packages_ingested: Number(listed?.[2] ?? Number.NaN),
  packages_failed: Number(listed?.[3] ?? Number.NaN),
  kernel_builds: Number(line(/^kernel builds: (\d+)/m)?.[1] ?? Number.NaN),
  module_builds: Number(line(/^module builds: (\d+)/m)?.[1] ?? Number.NaN),
  listed_mb: mb(listedBytes),
  curl_mb: mb(curlBefore.bytes),
  btfwatch_downloaded_mb: fixed(downloadedMb, 1),
  curl_s: fixed(floor, 1),
  curl_mb_per_s: fixed(curlBefore.bytes / 1e6 / floor, 1),
  btfwatch_s: fixed(run.seconds, 1),
  btfwatch_scan_s: summary?.[1] ?? 'NaN',
  btfwatch_mb_per_s: fixed(listedBytes / 1e6 / run.seconds, 1),
  ratio_btfwatch_to_curl_time: fixed(run.seconds / floor, 1),
  ratio_downloaded_to_listed: fixed((downloadedMb * 1e6) / listedBytes, 3),
  database_mb: summary?.[4] ?? 'NaN',
  database_disk_mb: mb(pgdataBytes),
  database_mb_per_listed_mb: fixed(Number(summary?.[4]) / (listedBytes / 1e6), 3),
  peak_scratch_mb: mb(run.peakScratch),
  largest_package_mb: mb(largest),
  peak_scratch_to_largest_package: fixed(run.peakScratch / largest, 2),
  peak_scratch_to_listed: fixed(run.peakScratch / listedBytes, 3),
  peak_rss_mb: fixed(run.peakRssKb / 1024, 0),
});
