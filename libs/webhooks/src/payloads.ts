import type { AffectedPackage, CoverageGap } from '@btfwatch/compat';

/** What event payloads say of a kernel build. */
export interface EventKernel {
  id: number;
  distro: string;
  release: string;
  version: string;
  arch: string;
  flavour: string | null;
  baseBtfSha256: string | null;
}

/** What event payloads say of an alert. */
export interface EventAlert {
  id: number;
  severity: string;
  summary: string;
  cause: string;
  affectedModules: number;
  details: Record<string, unknown>;
  createdAt: Date;
}

/** API and dashboard URLs of what an event is about, absolute (receivers live elsewhere). */
export function eventLinks(publicUrl: string, kernelId: number) {
  const q = (params: Record<string, string | number | null | undefined>) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) search.set(k, String(v));
    return search.toString();
  };
  return {
    kernel: { api: `${publicUrl}/v1/kernels/${kernelId}`, dashboard: `${publicUrl}/#/kernels/${kernelId}` },
    alert: (id: number) => ({
      api: `${publicUrl}/v1/alerts/${id}`,
      dashboard: `${publicUrl}/#/alerts/${id}`,
    }),
    /** A module's verdict on the kernel (or on `onKernel`, for verdicts on another build of the pair). */
    module: (moduleBuildId: number, onKernel = kernelId) => ({
      api: `${publicUrl}/v1/compat?${q({ kernel: onKernel, moduleBuild: moduleBuildId })}`,
      dashboard: `${publicUrl}/#/compat?${q({ kernel: onKernel, moduleBuild: moduleBuildId })}`,
    }),
    /** A package's modules on the kernel (or `onKernel`): the API link lists exactly its rejected and corrupt ones. */
    package: (name: string, version: string | null, onKernel = kernelId) => ({
      api: `${publicUrl}/v1/compat?${q({ kernel: onKernel, package: name, version })}&btf=rejected&btf=corrupt`,
      dashboard: `${publicUrl}/#/compat?${q({ kernel: onKernel, package: name, version })}`,
    }),
  };
}

/** What every event says of the kernel build it is about. */
function kernelFields(kernel: EventKernel) {
  return {
    id: kernel.id,
    distro: kernel.distro,
    release: kernel.release,
    version: kernel.version,
    arch: kernel.arch,
    baseBtfSha256: kernel.baseBtfSha256,
  };
}

interface StoredModule {
  id: number;
  name: string;
  package: string;
  version: string | null;
  /** The kernel build the verdict is on. */
  kernelId: number;
  btf: string;
  load: string;
  abi: string;
}

/**
 * The `alert.btf_break` event of an in-place upload: the running build hosts stay on until they reboot, the
 * upload they install, every affected module build (up to ALERT_MODULES_SHOWN, then `modulesOmitted` says how
 * many more) with its verdicts, the packages they come from (complete), the first lines the kernel prints, and
 * API and dashboard links to each of them (under `publicUrl`).
 */
export function btfBreakEvent(
  alert: EventAlert,
  kernel: EventKernel,
  upload: EventKernel,
  publicUrl: string,
): Record<string, unknown> {
  const links = eventLinks(publicUrl, kernel.id);
  const modules = (alert.details.modules ?? []) as StoredModule[];
  const packages = (alert.details.packages ?? []) as AffectedPackage[];
  const source = alert.details.sourceKernelBuildId as number | null | undefined;
  const part = (name: 'inTree' | 'outOfTree') => {
    const p = (alert.details[name] ?? {}) as { affectedModules?: number; counts?: unknown; loads?: unknown };
    return { affectedModules: p.affectedModules ?? 0, counts: p.counts ?? {}, loads: p.loads ?? {} };
  };
  return {
    alert: {
      id: alert.id,
      severity: alert.severity,
      summary: alert.summary,
      cause: alert.cause,
      affectedModules: alert.affectedModules,
      counts: alert.details.counts ?? {},
      createdAt: alert.createdAt.toISOString(),
    },
    kernel: { ...kernelFields(kernel), flavour: kernel.flavour, links: links.kernel },
    upload: {
      ...kernelFields(upload),
      flavour: upload.flavour,
      links: eventLinks(publicUrl, upload.id).kernel,
    },
    sourceKernelId: source ?? null,
    inTree: part('inTree'),
    outOfTree: part('outOfTree'),
    firstLog: alert.details.firstLog ?? [],
    modules: modules.map((m) => ({ ...m, links: links.module(m.id, m.kernelId) })),
    modulesOmitted: Math.max(0, alert.affectedModules - modules.length),
    packages: packages.map((p) => ({ ...p, links: links.package(p.name, p.version, p.kernelId) })),
    links: {
      alert: links.alert(alert.id),
      kernel: links.kernel,
      ...(source ? { diff: `${links.kernel.dashboard}?diff=${source}` } : {}),
    },
  };
}

/**
 * The `kernel.ingested` event: a kernel build whose vmlinux BTF a package just brought, with what it still lacks
 * for its verdicts and alerts (`missing`: empty when nothing; until then no alert about it is an all-clear).
 */
export function kernelIngestedEvent(
  kernel: EventKernel,
  pkg: { name: string; version: string; sha256: string },
  publicUrl: string,
  missing: CoverageGap[] = [],
): Record<string, unknown> {
  const links = eventLinks(publicUrl, kernel.id).kernel;
  return {
    kernel: kernelFields(kernel),
    package: { name: pkg.name, version: pkg.version, sha256: pkg.sha256 },
    missing,
    links: { kernel: links.api, dashboard: links.dashboard },
  };
}

/** One suite of a mirror scan that failed, with its error. */
export interface EventSuiteFailure {
  suite: string;
  code: string;
  message: string;
}

/**
 * The `scan.failed` event: a mirror scan that failed (`partial: false`; `willRetry` says whether its job runs again)
 * or completed with some suites failed while the others went on (`partial: true`; the next scheduled scan tries
 * them again). `failedSuites` lists the suites that failed, empty when the scan failed before reaching one.
 */
export function scanFailedEvent(
  mirror: { id: number; url: string; kind: string },
  error: { code: string; message: string },
  failure: { partial: boolean; failedSuites: EventSuiteFailure[]; willRetry: boolean },
): Record<string, unknown> {
  return {
    mirror: { id: mirror.id, url: mirror.url, kind: mirror.kind },
    error: { code: error.code, message: error.message },
    partial: failure.partial,
    failedSuites: failure.failedSuites,
    willRetry: failure.willRetry,
  };
}
