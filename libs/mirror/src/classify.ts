/**
 * What a package is to btfwatch, decided from the paths it ships (Contents, filelists) or, where no file
 * list exists, from its name.
 */
export type Role =
  'kernel-image' | 'kernel-modules' | 'kernel-headers' | 'kernel-base' | 'out-of-tree-modules';

/** How a candidate was selected. */
export type Evidence = 'contents' | 'filelists' | 'name';

/** What the interesting paths of one package add up to. */
export interface FileSignals {
  vmlinuz: number;
  /** `.ko*` under `<modules dir>/<release>/kernel/`: built with the kernel. */
  inTreeModules: number;
  /** `.ko*` anywhere else below a modules dir (updates/, extra/, misc/ ...). */
  otherModules: number;
  symvers: number;
  /** config or System.map. */
  base: number;
  /** `uname -r` strings seen in the paths. */
  releases: Set<string>;
}

export function emptySignals(): FileSignals {
  return { vmlinuz: 0, inTreeModules: 0, otherModules: 0, symvers: 0, base: 0, releases: new Set() };
}

type PathKind = 'vmlinuz' | 'in-tree-module' | 'other-module' | 'symvers' | 'base';

// Anchored at the root of the package: debug copies under usr/lib/debug/ never match.
const MODULES_DIR = /^(?:usr\/)?lib\/modules\/([^/]+)\/(.+)$/;
// Aligned with @btfwatch/pkg's classifyPath: what the scanner lists is what ingestion extracts.
const BOOT = /^boot\/(vmlinuz|vmlinux|config|System\.map)-([^/]+)$/;
const BOOT_SYMVERS = /^boot\/symvers-([^/]+)\.gz$/;
const MODULE_FILE = /\.ko(?:\.(?:xz|zst|gz|bz2))?$/;
const SYMVERS = /^usr\/src\/(?:linux-headers-([^/]+)|kernels\/([^/]+)|[^/]+)\/(?:.+\/)?Module\.symvers$/;

/** Cheap first test for hot loops over millions of Contents lines. */
export function mayBeInteresting(path: string): boolean {
  return (
    path.startsWith('lib/modules/') ||
    path.startsWith('usr/lib/modules/') ||
    path.startsWith('usr/src/') ||
    path.startsWith('boot/')
  );
}

/** Classify one path (without leading `/` or `./`). */
export function classifyPath(path: string): { kind: PathKind; release: string | undefined } | undefined {
  let m = MODULES_DIR.exec(path);
  if (m) {
    const release = m[1];
    const rest = m[2] ?? '';
    // vmlinuz.unsigned: what Debian's linux-binary-unsigned-* (7.x) ships.
    if (rest === 'vmlinuz' || rest === 'vmlinuz.unsigned') return { kind: 'vmlinuz', release };
    if (rest === 'config' || rest === 'System.map') return { kind: 'base', release };
    if (rest === 'symvers.gz') return { kind: 'symvers', release };
    if (MODULE_FILE.test(rest)) {
      return { kind: rest.startsWith('kernel/') ? 'in-tree-module' : 'other-module', release };
    }
    return undefined;
  }
  m = BOOT.exec(path);
  if (m) return { kind: m[1] === 'vmlinuz' || m[1] === 'vmlinux' ? 'vmlinuz' : 'base', release: m[2] };
  m = BOOT_SYMVERS.exec(path);
  if (m) return { kind: 'symvers', release: m[1] };
  m = SYMVERS.exec(path);
  if (m) return { kind: 'symvers', release: m[1] ?? m[2] };
  return undefined;
}

/** Normalise a listed path: Contents has none, filelists a leading `/`, old tools `./`. */
export function normalisePath(path: string): string {
  if (path.startsWith('./')) return path.slice(2);
  if (path.startsWith('/')) return path.slice(1);
  return path;
}

export function addPath(signals: FileSignals, path: string): boolean {
  const c = classifyPath(path);
  if (!c) return false;
  switch (c.kind) {
    case 'vmlinuz':
      signals.vmlinuz++;
      break;
    case 'in-tree-module':
      signals.inTreeModules++;
      break;
    case 'other-module':
      signals.otherModules++;
      break;
    case 'symvers':
      signals.symvers++;
      break;
    case 'base':
      signals.base++;
      break;
  }
  if (c.release) signals.releases.add(c.release);
  return true;
}

/** The role a package's files give it; the strongest signal wins (a vmlinuz makes it the image). */
export function roleFromSignals(s: FileSignals): Role | undefined {
  if (s.vmlinuz > 0) return 'kernel-image';
  if (s.inTreeModules > 0) return 'kernel-modules';
  if (s.otherModules > 0) return 'out-of-tree-modules';
  if (s.symvers > 0) return 'kernel-headers';
  if (s.base > 0) return 'kernel-base';
  return undefined;
}

// Debug-symbol packages are huge and carry no loadable code.
const DEBUG_NAME = /-(?:dbg|dbgsym|debuginfo|debugsource)(?:-|$)/;

/** Name heuristics for apt archives without Contents. */
export function aptRoleFromName(name: string): Role | undefined {
  if (DEBUG_NAME.test(name)) return undefined;
  if (name.startsWith('linux-image-') || name.startsWith('linux-binary-')) return 'kernel-image';
  if (name.startsWith('linux-modules-')) return 'kernel-modules';
  if (name.startsWith('linux-headers-')) return 'kernel-headers';
  if (name.startsWith('linux-base-')) return 'kernel-base';
  if (name.endsWith('-dkms') || name.includes('-modules-')) return 'out-of-tree-modules';
  return undefined;
}

/** The rpm names always taken (kernel, kernel-core, kernel-modules*, kernel-devel, kmod-*). */
export function rpmRoleFromName(name: string): Role | undefined {
  if (DEBUG_NAME.test(name)) return undefined;
  if (name === 'kernel' || name === 'kernel-core') return 'kernel-image';
  if (name.startsWith('kernel-modules')) return 'kernel-modules';
  if (name === 'kernel-devel') return 'kernel-headers';
  if (name.startsWith('kmod-')) return 'out-of-tree-modules';
  return undefined;
}
