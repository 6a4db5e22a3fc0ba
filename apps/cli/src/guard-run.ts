import { btfAssessmentDeps, judgeModule, type KernelFacts } from '@btfwatch/compat';
import { kernelFacts, type BootedKernel } from './booted-kernel.ts';
import { moduleOutcome, type ModuleVerdict } from './guard-decision.ts';
import {
  BaseCache,
  chooseBase,
  modulesFor,
  probePackage,
  readPackage,
  touchesRelease,
  type PackageFormat,
  type PackageProbe,
  type ReadPackage,
} from './guard-packages.ts';

/** A package file about to be installed, with what the package manager says of it (apt's protocol 2/3). */
export interface GuardInput {
  file: string;
  /** The installed version it replaces (null: not installed, or not known). */
  fromVersion?: string | null;
}

export interface PackageReport {
  file: string;
  name: string | null;
  version: string | null;
  fromVersion: string | null;
  format: PackageFormat | null;
  /** `judged`: its modules for the running release were judged; `skipped`: it installs none; `unreadable`. */
  status: 'judged' | 'skipped' | 'unreadable';
  /** What guard found, or why it skipped or could not read the package. */
  note: string;
  /** Error code (PKG_*, GUARD_*, ENOENT...) when unreadable. */
  errorCode: string | null;
  /** Modules it installs for the running release (judged), and for other releases (not loaded until a reboot). */
  modules: number;
  otherReleases: string[];
  /** Where the build base of its modules comes from, or why there is none. */
  buildBase: string | null;
}

export interface GuardRun {
  packages: PackageReport[];
  verdicts: ModuleVerdict[];
  /** What could not be judged, and why (the booted kernel's BTF, unreadable packages). */
  cannotJudge: string[];
  /** Whether everything given could be judged (a verdict may still be unknown: see ModuleOutcome). */
  judged: boolean;
}

function errorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function unreadable(input: GuardInput, probe: PackageProbe | null, err: unknown): PackageReport {
  return {
    file: input.file,
    name: probe?.name ?? null,
    version: probe?.version ?? null,
    fromVersion: input.fromVersion ?? null,
    format: probe?.format ?? null,
    status: 'unreadable',
    note: `not judged: ${message(err)}`,
    errorCode: errorCode(err),
    modules: 0,
    otherReleases: [],
    buildBase: null,
  };
}

function report(input: GuardInput, probe: PackageProbe, fields: Partial<PackageReport>): PackageReport {
  return {
    file: input.file,
    name: probe.name,
    version: probe.version,
    fromVersion: input.fromVersion ?? null,
    format: probe.format,
    status: 'skipped',
    note: '',
    errorCode: null,
    modules: 0,
    otherReleases: [],
    buildBase: null,
    ...fields,
  };
}

/** When the booted kernel's own facts already decide that nothing can be judged, or nothing can break. */
function kernelVerdict(kernel: BootedKernel): { cannotJudge: string | null; noBtf: boolean } {
  if (kernel.btf) return { cannotJudge: null, noBtf: false };
  if (kernel.flags && !kernel.flags.DEBUG_INFO_BTF) return { cannotJudge: null, noBtf: true };
  return { cannotJudge: `no BTF of the booted kernel: ${kernel.btfProblem ?? 'unknown'}`, noBtf: false };
}

/**
 * Reads each package's header, then only the packages that install modules (or the kernel image that is
 * their build base) for the running release, and judges each such module with the one verdict pipeline
 * (judgeModule). A package that cannot be read is reported, not judged, and never stops the others.
 */
export async function runGuard(inputs: GuardInput[], kernel: BootedKernel): Promise<GuardRun> {
  const state = kernelVerdict(kernel);
  if (state.cannotJudge)
    return { packages: [], verdicts: [], cannotJudge: [state.cannotJudge], judged: false };

  const release = kernel.release;
  const reports = new Map<GuardInput, PackageReport>();
  const probes: Array<{ input: GuardInput; probe: PackageProbe }> = [];
  for (const input of inputs) {
    try {
      probes.push({ input, probe: await probePackage(input.file) });
    } catch (err) {
      reports.set(input, unreadable(input, null, err));
    }
  }
  const withModules = probes.filter((p) => touchesRelease(p.probe, release).modules);
  // An image-only package matters only as the build base of module packages given with it.
  const toRead = probes.filter(
    (p) => withModules.includes(p) || (withModules.length > 0 && touchesRelease(p.probe, release).image),
  );
  for (const p of probes) {
    if (!toRead.includes(p))
      reports.set(p.input, report(p.input, p.probe, { note: `installs no modules for ${release}` }));
  }
  if (state.noBtf) {
    for (const p of toRead)
      reports.set(
        p.input,
        report(p.input, p.probe, {
          note: `the booted kernel ${release} is built without CONFIG_DEBUG_INFO_BTF: module BTF cannot fail it`,
        }),
      );
    return { packages: inputs.map((i) => reports.get(i)!), verdicts: [], cannotJudge: [], judged: true };
  }

  const read: Array<{ input: GuardInput; pkg: ReadPackage }> = [];
  for (const p of toRead) {
    try {
      read.push({ input: p.input, pkg: await readPackage(p.probe) });
    } catch (err) {
      reports.set(p.input, unreadable(p.input, p.probe, err));
    }
  }

  const facts: KernelFacts = kernelFacts(kernel);
  const deps = btfAssessmentDeps();
  const bases = new BaseCache();
  const verdicts: ModuleVerdict[] = [];
  const set = read.map((r) => r.pkg);
  for (const { input, pkg } of read) {
    const modules = modulesFor(pkg, release);
    const otherReleases = [
      ...new Set(pkg.extracted.modules.filter((m) => m.release !== release).map((m) => m.release)),
    ].sort();
    if (modules.length === 0) {
      reports.set(
        input,
        report(input, pkg.probe, {
          note: withModules.some((w) => w.probe === pkg.probe)
            ? `installs no modules for ${release}`
            : `its kernel image for ${release} is the build base of the modules given with it`,
          otherReleases,
        }),
      );
      continue;
    }
    const chosen = chooseBase(pkg, set, release, bases);
    const label = `${pkg.probe.name} ${pkg.probe.version}`;
    for (const m of modules) {
      const judged = judgeModule({ ...m.facts, buildBase: chosen.base }, facts, deps);
      verdicts.push({
        package: label,
        path: m.path,
        module: m.facts.name,
        btf: judged.btf,
        load: judged.load,
        abi: judged.abi,
        explanation: judged.explanation,
        loadReason: judged.loadReason,
        log: [...judged.assessment.kernelLog, ...judged.assessment.onceLog],
        outcome: moduleOutcome(judged),
        source: 'offline',
      });
    }
    reports.set(
      input,
      report(input, pkg.probe, {
        status: 'judged',
        note: `installs ${modules.length} modules for ${release}`,
        modules: modules.length,
        otherReleases,
        buildBase: chosen.description,
      }),
    );
  }
  const packages = inputs.map((i) => reports.get(i)!);
  // A package that could not be read may be the one that breaks the kernel: never an all-clear then.
  const unreadableCount = packages.filter((p) => p.status === 'unreadable').length;
  const cannotJudge = unreadableCount
    ? [`${unreadableCount} of ${packages.length} packages could not be read`]
    : [];
  return { packages, verdicts, cannotJudge, judged: unreadableCount === 0 };
}
