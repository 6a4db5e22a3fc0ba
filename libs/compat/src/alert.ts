import type { AbiVerdict } from './abi.ts';
import type { BtfVerdict, LoadVerdict } from './load.ts';
import { compareDebianVersions } from './versions.ts';

/** A module build's verdict on a kernel, as the alert rule reads it. */
export interface AlertCandidate {
  moduleBuildId: number;
  moduleName: string;
  packageName: string;
  packageVersion: string | null;
  /** The kernel build the verdict is on. */
  kernelBuildId: number;
  btf: BtfVerdict;
  abi: AbiVerdict;
  load: LoadVerdict;
  /** The first lines the kernel prints for it (empty when it prints none). */
  kernelLog: string[];
}

/** What an alert says of the kernel builds it names. */
export interface AlertKernel {
  id: number;
  release: string;
  version: string;
  imagePackage?: string | null;
}

/** Affected modules an alert (and its alert.btf_break payload) lists one by one; the rest are counted. */
export const ALERT_MODULES_SHOWN = 200;

/**
 * An upload U reuses the running build K's release string (same distro and arch, newer package version): a
 * host running K that installs U gets U's module files under K's /lib/modules/<release> and loads them until
 * it reboots (DESIGN §2, "Alert").
 */
export function isInPlaceUpload(upload: AlertKernel, running: AlertKernel): boolean {
  return upload.release === running.release && compareDebianVersions(upload.version, running.version) > 0;
}

/** What the rule counts: modules modversions keep loadable (ABI compatible) whose BTF is rejected or misread. */
export function breaksBtf(c: Pick<AlertCandidate, 'abi' | 'btf'>): boolean {
  return c.abi === 'compatible' && (c.btf === 'rejected' || c.btf === 'corrupt');
}

/** The alert of one (running build K, upload U) pair: stored once per pair, whatever evaluation finds it. */
export const uploadCause = (upload: AlertKernel) => `btf_break:upload-${upload.id}`;

export interface AffectedPackage {
  name: string;
  version: string | null;
  /** The kernel build the package's verdicts are on (K for U's modules, U for out-of-tree ones). */
  kernelId: number;
  affectedModules: number;
}

/** The packages the affected modules come from, with how many of each: always complete, however many modules. */
export function affectedPackages(affected: AlertCandidate[]): AffectedPackage[] {
  const byKey = new Map<string, AffectedPackage>();
  for (const a of affected) {
    const key = `${a.kernelBuildId}:${a.packageName}@${a.packageVersion ?? ''}`;
    const p = byKey.get(key) ?? {
      name: a.packageName,
      version: a.packageVersion,
      kernelId: a.kernelBuildId,
      affectedModules: 0,
    };
    p.affectedModules += 1;
    byKey.set(key, p);
  }
  return [...byKey.values()].sort((a, b) => a.name.localeCompare(b.name) || a.kernelId - b.kernelId);
}

/** An alert as stored: its wording and details drafted from the rule's verdicts. */
export interface AlertRecord {
  kernelBuildId: number;
  cause: string;
  severity: 'warning' | 'critical';
  summary: string;
  affectedModules: number;
  details: Record<string, unknown>;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What happens to `affected`, as a clause per outcome: "10 are read as wrong types (corrupt), 2 fail to load". */
function outcomes(affected: AlertCandidate[]): string {
  const count = (f: (c: AlertCandidate) => boolean) => affected.filter(f).length;
  const parts: string[] = [];
  const corrupt = count((c) => c.btf === 'corrupt');
  const fails = count((c) => c.btf === 'rejected' && c.load === 'fails');
  const dropped = count((c) => c.btf === 'rejected' && c.load === 'loads-without-btf');
  const unclear = count((c) => c.btf === 'rejected' && c.load !== 'fails' && c.load !== 'loads-without-btf');
  if (corrupt)
    parts.push(`${corrupt} ${corrupt === 1 ? 'is' : 'are'} read as wrong types without a warning (corrupt)`);
  if (fails) parts.push(`${fails} ${fails === 1 ? 'fails' : 'fail'} to load (BTF rejected)`);
  if (dropped) parts.push(`${dropped} ${dropped === 1 ? 'loads' : 'load'} without BTF (rejected)`);
  if (unclear)
    parts.push(
      `${unclear} ${unclear === 1 ? 'has its' : 'have their'} BTF rejected, and whether ${unclear === 1 ? 'it loads' : 'they load'} is not known`,
    );
  return parts.join(', ');
}

function section(affected: AlertCandidate[]) {
  const counts: Record<string, number> = {};
  const loads: Record<string, number> = {};
  for (const a of affected) {
    counts[a.btf] = (counts[a.btf] ?? 0) + 1;
    loads[a.load] = (loads[a.load] ?? 0) + 1;
  }
  return { affectedModules: affected.length, counts, loads, packages: affectedPackages(affected) };
}

/**
 * The alert for upload U on running build K (DESIGN §2): U's in-tree modules as K reads them (what hosts still
 * running K load until they reboot), and separate module packages built against K that break on U (what stays
 * behind when they do). Null when neither breaks. Critical when any module is read corrupt or fails to load.
 */
export function uploadBreakAlert(
  running: AlertKernel,
  upload: AlertKernel,
  inTree: AlertCandidate[],
  outOfTree: AlertCandidate[],
): AlertRecord | null {
  const mine = inTree.filter(breaksBtf);
  const behind = outOfTree.filter(breaksBtf);
  if (mine.length + behind.length === 0) return null;
  const image = upload.imagePackage ? ` of ${upload.imagePackage}` : '';
  const sentences: string[] = [];
  if (mine.length)
    sentences.push(
      `Hosts still running ${running.release} (${running.version}) that install the ${upload.version} upload${image} load its modules until they reboot: ${plural(mine.length, 'module')} break there — ${outcomes(mine)}.`,
    );
  if (behind.length)
    sentences.push(
      `${plural(behind.length, 'out-of-tree module')} built for ${running.version} ${behind.length === 1 ? 'breaks' : 'break'} on ${upload.version}: ${outcomes(behind)}.`,
    );
  return alertRecord(
    running,
    upload,
    { cause: uploadCause(upload), via: 'in-place' },
    sentences,
    mine,
    behind,
  );
}

/** The alert of kmods built for `built` that weak-updates links into `target`: stored once per pair, on `built`. */
export const weakUpdatesCause = (target: AlertKernel) => `btf_break:weak-updates-${target.id}`;

/**
 * The alert for RHEL's weak-updates (DESIGN §2): out-of-tree modules built for `built` that weak-modules links into
 * the later kernel `target` of the same kABI stream (modversions keep them loadable there) and whose BTF `target`
 * rejects or misreads — what a host running `built` meets once it installs `target` and reboots into it. Null when
 * none breaks.
 */
export function weakUpdatesBreakAlert(
  built: AlertKernel,
  target: AlertKernel,
  outOfTree: AlertCandidate[],
): AlertRecord | null {
  const behind = outOfTree.filter(breaksBtf);
  if (behind.length === 0) return null;
  const sentence = `${plural(behind.length, 'out-of-tree module')} built for ${built.release} (${built.version}) that weak-updates links into ${target.release} (${target.version}) ${behind.length === 1 ? 'breaks' : 'break'} there once hosts reboot into it: ${outcomes(behind)}.`;
  return alertRecord(
    built,
    target,
    { cause: weakUpdatesCause(target), via: 'weak-updates' },
    [sentence],
    [],
    behind,
  );
}

function alertRecord(
  running: AlertKernel,
  upload: AlertKernel,
  { cause, via }: { cause: string; via: 'in-place' | 'weak-updates' },
  sentences: string[],
  mine: AlertCandidate[],
  behind: AlertCandidate[],
): AlertRecord {
  const all = [...mine, ...behind];
  const critical = all.some((c) => c.btf === 'corrupt' || c.load === 'fails');
  const firstLog = all.find((c) => c.kernelLog.length > 0)?.kernelLog.slice(0, 8) ?? [];
  const counts: Record<string, number> = {};
  for (const a of all) counts[a.btf] = (counts[a.btf] ?? 0) + 1;
  return {
    kernelBuildId: running.id,
    cause,
    severity: critical ? 'critical' : 'warning',
    summary: sentences.join(' '),
    affectedModules: all.length,
    details: {
      runningKernelBuildId: running.id,
      uploadKernelBuildId: upload.id,
      // How the modules meet the upload's kernel: its files replace the running build's, or weak-modules links them.
      via,
      // The build the in-tree modules come from, for the dashboard's diff link.
      sourceKernelBuildId: upload.id,
      counts,
      firstLog,
      inTree: section(mine),
      outOfTree: section(behind),
      packages: affectedPackages(all),
      modules: all.slice(0, ALERT_MODULES_SHOWN).map((a) => ({
        id: a.moduleBuildId,
        name: a.moduleName,
        package: a.packageName,
        version: a.packageVersion,
        kernelId: a.kernelBuildId,
        btf: a.btf,
        load: a.load,
        abi: a.abi,
      })),
    },
  };
}
