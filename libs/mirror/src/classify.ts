import { classifyPath as classifyPackagePath, isInTreeModule } from '@btfwatch/pkg';

/**
 * What a package is to btfwatch, decided from the paths it ships (Contents, filelists) or, where no file
 * list can be had, from its name and its Packages relations.
 */
export type Role =
  'kernel-image' | 'kernel-modules' | 'kernel-headers' | 'kernel-base' | 'out-of-tree-modules';

/**
 * How a candidate was selected: from its file list, from its name, or (without a file list) because its
 * Depends name a kernel package of a concrete release or its Provides claim to be one.
 */
export type Evidence = 'contents' | 'filelists' | 'name' | 'depends' | 'provides';

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

/** Cheap first test for hot loops over millions of Contents lines. */
export function mayBeInteresting(path: string): boolean {
  return (
    path.startsWith('lib/modules/') ||
    path.startsWith('usr/lib/modules/') ||
    path.startsWith('usr/src/') ||
    path.startsWith('boot/')
  );
}

/**
 * Classify one listed path. @btfwatch/pkg's classifyPath decides, so a scan selects exactly the packages
 * whose files ingestion extracts; this only folds its kinds into the signals a package role needs.
 */
export function classifyPath(path: string): { kind: PathKind; release: string | undefined } | undefined {
  const c = classifyPackagePath(path);
  if (!c) return undefined;
  switch (c.kind) {
    case 'vmlinuz':
      return { kind: 'vmlinuz', release: c.release };
    case 'module':
      return { kind: isInTreeModule(path) ? 'in-tree-module' : 'other-module', release: c.release };
    case 'symvers':
      return { kind: 'symvers', release: c.release };
    case 'config':
    case 'systemmap':
      return { kind: 'base', release: c.release };
  }
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

/** Debug-symbol packages: never candidates, whatever else their name or relations say. */
export function isDebugPackage(name: string): boolean {
  return DEBUG_NAME.test(name);
}

/**
 * A kernel package of one build names its release, with a full x.y.z version (`6.1.0-56-amd64`,
 * `6.12.118+deb12-amd64`, Ubuntu's `6.8.0-31-generic`); `linux-image-amd64` or `linux-headers-6.12-amd64`
 * only pull such a package in.
 */
const CONCRETE_RELEASE = /-\d+\.\d+\.\d+(?:[-+~.]|$)/;
/** Headers shared by a release's flavours: no Module.symvers in them. */
const COMMON_HEADERS = /^linux-headers-.*-common(?:-rt)?$/;
/** Modules built for one kernel release: `zfs-modules-6.1.0-18-amd64`, not `libsasl2-modules-db` or `perl-modules-5.36`. */
const RELEASE_MODULES = /-modules-\d+\.\d+\.\d+/;

/** Name heuristics for apt archives without Contents. */
export function aptRoleFromName(name: string): Role | undefined {
  if (DEBUG_NAME.test(name)) return undefined;
  if (name.startsWith('linux-')) {
    if (!CONCRETE_RELEASE.test(name)) return undefined;
    if (name.startsWith('linux-image-') || name.startsWith('linux-binary-')) return 'kernel-image';
    if (name.startsWith('linux-modules-')) return 'kernel-modules';
    if (name.startsWith('linux-headers-')) return COMMON_HEADERS.test(name) ? undefined : 'kernel-headers';
    if (name.startsWith('linux-base-')) return 'kernel-base';
  }
  // DKMS packages ship sources to build on the host: no module in them to check, as Contents would show.
  if (RELEASE_MODULES.test(name)) return 'out-of-tree-modules';
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
