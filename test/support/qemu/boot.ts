// Boots a Debian kernel under QEMU (TCG) with a busybox initramfs that loads modules in phases and
// reports what the kernel did: per-module finit_module results, /sys/kernel/btf after each phase, dmesg.
// Guests: amd64 (the host's busybox-static and gcc), arm64 and s390x (busybox-static of that
// architecture taken out of its pinned .deb, the loader built with Debian's cross compiler).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryToText } from '@btfwatch/btf';
import { repoRoot } from '../fixtures.ts';

export type GuestArch = 'amd64' | 'arm64' | 's390x';

interface Guest {
  qemu: string;
  qemuPackage: string;
  machine: string[];
  /** Kernel command line part naming the console our report is read from. */
  console: string;
  cc: string;
  ccPackage: string;
  /** busybox-static: the host's (amd64) or a pinned package of the guest's architecture. */
  busyboxPackage: string | null;
}

const GUESTS: Record<GuestArch, Guest> = {
  amd64: {
    qemu: 'qemu-system-x86_64',
    qemuPackage: 'qemu-system-x86',
    machine: ['-accel', 'tcg', '-smp', '2', '-m', '512'],
    console: 'console=ttyS0',
    cc: 'gcc',
    ccPackage: 'gcc + libc6-dev',
    busyboxPackage: null,
  },
  arm64: {
    qemu: 'qemu-system-aarch64',
    qemuPackage: 'qemu-system-arm',
    machine: ['-M', 'virt', '-cpu', 'max', '-accel', 'tcg', '-smp', '2', '-m', '1024'],
    console: 'console=ttyAMA0',
    cc: 'aarch64-linux-gnu-gcc',
    ccPackage: 'gcc-aarch64-linux-gnu + libc6-dev-arm64-cross',
    busyboxPackage: 'busybox-static_1.37.0-6+b9_arm64.deb',
  },
  s390x: {
    qemu: 'qemu-system-s390x',
    qemuPackage: 'qemu-system-misc',
    machine: ['-M', 's390-ccw-virtio', '-accel', 'tcg', '-smp', '2', '-m', '1024'],
    // The SCLP console is where -nographic puts stdio; it is the kernel's default console there.
    console: '',
    cc: 's390x-linux-gnu-gcc',
    ccPackage: 'gcc-s390x-linux-gnu + libc6-dev-s390x-cross',
    busyboxPackage: 'busybox-static_1.37.0-6+b9_s390x.deb',
  },
};

/** Fails (never skips) when a tool the ground-truth test needs is missing: CI installs them. */
export function requireTools(arch: GuestArch = 'amd64'): void {
  const guest = GUESTS[arch];
  for (const [tool, pkg] of [
    [guest.qemu, guest.qemuPackage],
    ['busybox', 'busybox-static'],
    ['cpio', 'cpio'],
    [guest.cc, guest.ccPackage],
    ['dpkg-deb', 'dpkg'],
  ] as const) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
    if (r.status !== 0)
      throw new Error(`${tool} is required for the kernel ground-truth test (install ${pkg})`);
  }
  if (guest.busyboxPackage) return;
  const busybox = execFileSync('sh', ['-c', 'command -v busybox']).toString().trim();
  const file = spawnSync('file', ['-L', busybox]).stdout?.toString() ?? '';
  if (file && !/statically linked|static-pie/.test(file))
    throw new Error(`${busybox} is not static (install busybox-static)`);
}

/** A static busybox for the guest, copied to `dest`. */
function installBusybox(guest: Guest, dest: string): void {
  if (!guest.busyboxPackage) {
    copyFileSync(execFileSync('sh', ['-c', 'command -v busybox']).toString().trim(), dest);
    return;
  }
  const deb = pinnedPackage(guest.busyboxPackage);
  execFileSync('sh', [
    '-c',
    'dpkg-deb --fsys-tarfile "$1" | tar -x -O ./usr/bin/busybox > "$2"',
    'sh',
    deb,
    dest,
  ]);
  chmodSync(dest, 0o755);
}

/** Path of a pinned package from the cache (downloaded on first use); throws when it cannot be had. */
export function pinnedPackage(nameSubstring: string): string {
  const script = join(repoRoot, 'test', 'fixtures', 'fetch-packages.sh');
  const r = spawnSync('bash', [script, nameSubstring], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n').filter(Boolean);
  if (r.status !== 0 || path.length !== 1 || !existsSync(path[0] ?? '')) {
    throw new Error(`pinned package ${nameSubstring} unavailable: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return path[0] as string;
}

/** Extracts the members of a .deb matching the tar wildcards into `dir`; returns their paths. */
export function extractFromDeb(deb: string, dir: string, wildcards: string[]): string[] {
  mkdirSync(dir, { recursive: true });
  const script =
    'deb=$1; dir=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -v -C "$dir" --wildcards "$@"';
  const listed = execFileSync('sh', ['-c', script, 'sh', deb, dir, ...wildcards], { encoding: 'utf8' });
  return listed
    .split('\n')
    .filter((l) => l && !l.endsWith('/'))
    .map((l) => join(dir, l));
}

/** The kernel image of a Debian package: /boot/vmlinuz-* (up to 6.x) or /usr/lib/modules/<rel>/vmlinuz.unsigned (7.x). */
export function extractVmlinuz(deb: string, dir: string): string {
  const wildcard = deb.includes('linux-binary') ? './usr/lib/modules/*/vmlinuz*' : './boot/vmlinuz-*';
  const [path] = extractFromDeb(deb, dir, [wildcard]);
  if (!path) throw new Error(`no vmlinuz in ${deb}`);
  return path;
}

/** Uncompressed bytes of the named modules (`overlay.ko`) shipped as .ko.xz in a .deb. */
export function modulesFromDeb(deb: string, dir: string, files: string[]): Map<string, Uint8Array> {
  const paths = extractFromDeb(
    deb,
    dir,
    files.map((f) => `*/kernel/*/${f}.xz`),
  );
  const out = new Map<string, Uint8Array>();
  for (const path of paths) {
    const file = path.slice(path.lastIndexOf('/') + 1).replace(/\.xz$/, '');
    out.set(file, execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 28 }));
  }
  for (const f of files) if (!out.has(f)) throw new Error(`${f} not found in ${deb}`);
  return out;
}

export interface Phase {
  /** Marker label; also the initramfs directory the modules sit in. */
  label: string;
  /** Uncompressed .ko files in load order (dependencies first): [file name, bytes]. */
  modules: Array<[string, Uint8Array]>;
  /** Module names to delete_module after the phase (reverse dependency order). */
  unload?: string[];
}

export interface PhaseResult {
  label: string;
  /** finit_module result per file: 0 or -errno. */
  loads: Map<string, number>;
  unloads: Map<string, number>;
  /** Entries of /sys/kernel/btf after the phase. */
  btf: string[];
}

export interface BootResult {
  phases: PhaseResult[];
  /** sha256 of /sys/kernel/btf/vmlinux in the booted guest; null when the kernel has no BTF. */
  vmlinuxSha256: string | null;
  /** dmesg text lines with the "[   1.234567] " prefix removed, as bytesToText makes text of bytes. */
  dmesg: string[];
  seconds: number;
  raw: string;
}

/** Builds the initramfs (busybox, static loader, modules, /init), boots it and parses the report. */
export function bootWithModules(
  vmlinuz: string,
  phases: Phase[],
  options: { timeoutMs?: number; arch?: GuestArch } = {},
): BootResult {
  const guest = GUESTS[options.arch ?? 'amd64'];
  const work = mkdtempSync(join(tmpdir(), 'btfwatch-qemu-'));
  const root = join(work, 'root');
  for (const d of ['bin', 'proc', 'sys', 'dev']) mkdirSync(join(root, d), { recursive: true });
  installBusybox(guest, join(root, 'bin', 'busybox'));
  execFileSync(guest.cc, [
    '-static',
    '-O2',
    '-o',
    join(root, 'bin', 'loader'),
    join(import.meta.dirname, 'loader.c'),
  ]);

  const script = [
    '#!/bin/busybox sh',
    'B=/bin/busybox',
    '$B mount -t proc proc /proc',
    '$B mount -t sysfs sysfs /sys',
    // What the booted kernel serves as its BTF: the base identity the image reader must agree with.
    '[ -e /sys/kernel/btf/vmlinux ] && echo "@@VMLINUX_SHA256 $($B sha256sum /sys/kernel/btf/vmlinux)"',
  ];
  for (const phase of phases) {
    const dir = join(root, phase.label);
    mkdirSync(dir);
    for (const [file, bytes] of phase.modules) writeFileSync(join(dir, file), bytes);
    script.push(
      `echo "@@PHASE ${phase.label}"`,
      `cd /${phase.label} && /bin/loader load ${phase.modules.map(([f]) => f).join(' ')}`,
      `echo "@@BTF ${phase.label}"`,
      '$B ls -1 /sys/kernel/btf',
      `echo "@@ENDBTF"`,
    );
    if (phase.unload?.length) script.push(`/bin/loader unload ${phase.unload.join(' ')}`);
  }
  script.push('echo "@@DMESG"', '$B dmesg', 'echo "@@END"', '$B poweroff -f');
  writeFileSync(join(root, 'init'), `${script.join('\n')}\n`);
  chmodSync(join(root, 'init'), 0o755);
  const initrd = join(work, 'initramfs.cpio.gz');
  execFileSync('sh', [
    '-c',
    'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"',
    'sh',
    root,
    initrd,
  ]);

  const started = Date.now();
  const r = spawnSync(
    guest.qemu,
    [
      ...guest.machine,
      ...['-nographic', '-no-reboot'],
      ...['-kernel', vmlinuz, '-initrd', initrd],
      // loglevel=1 keeps the console to our own output; dmesg still holds everything.
      ...['-append', `${guest.console} panic=-1 quiet loglevel=1`.trim()],
    ],
    { encoding: 'latin1', timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
  );
  const seconds = (Date.now() - started) / 1000;
  // One char per byte: dmesg lines become text the way predicted lines are (bytesToText), byte for byte.
  const bytes = (r.stdout ?? '').replace(/\r/g, '');
  const raw = binaryToText(bytes);
  if (r.error) throw new Error(`qemu failed: ${r.error.message}\n${raw.slice(-4000)}`);
  if (!bytes.includes('@@END'))
    throw new Error(`the guest did not finish (status ${r.status}):\n${raw.slice(-4000)}`);
  return { ...parseReport(bytes, phases), seconds, raw };
}

/** `raw` holds one char per byte of the console output. */
function parseReport(raw: string, phases: Phase[]): Omit<BootResult, 'seconds' | 'raw'> {
  const lines = raw.split('\n');
  const results: PhaseResult[] = [];
  let current: PhaseResult | undefined;
  let inBtf = false;
  let inDmesg = false;
  const dmesg: string[] = [];
  let vmlinuxSha256: string | null = null;
  for (const line of lines) {
    const text = line.replace(/^.*?(@@)/, '$1'); // the console may prefix the first line with escape codes
    if (inDmesg) {
      if (text.startsWith('@@END')) break;
      const m = /^\[\s*\d+\.\d+\] ?(.*)$/.exec(line);
      if (m) dmesg.push(binaryToText(m[1] ?? ''));
      else if (dmesg.length) dmesg.push(binaryToText(line)); // continuation lines of a multi-line record
      continue;
    }
    if (text.startsWith('@@VMLINUX_SHA256 ')) {
      vmlinuxSha256 = /^@@VMLINUX_SHA256 ([0-9a-f]{64})/.exec(text)?.[1] ?? null;
    } else if (text.startsWith('@@PHASE ')) {
      current = { label: text.slice(8).trim(), loads: new Map(), unloads: new Map(), btf: [] };
      results.push(current);
    } else if (text.startsWith('@@LOAD ') || text.startsWith('@@UNLOAD ')) {
      const m = /^@@(UN)?LOAD (\S+) rc=(-?\d+)/.exec(text);
      if (m && current) (m[1] ? current.unloads : current.loads).set(m[2] ?? '', Number(m[3]));
    } else if (text.startsWith('@@BTF ')) {
      inBtf = true;
    } else if (text.startsWith('@@ENDBTF')) {
      inBtf = false;
    } else if (text.startsWith('@@DMESG')) {
      inDmesg = true;
    } else if (inBtf && current && text.trim()) {
      current.btf.push(text.trim());
    }
  }
  if (results.length !== phases.length)
    throw new Error(`expected ${phases.length} phases, saw ${results.length}`);
  return { phases: results, dmesg, vmlinuxSha256 };
}
