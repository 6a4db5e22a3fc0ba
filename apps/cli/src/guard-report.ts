import type { BootedKernel } from './booted-kernel.ts';
import type { Decision, ModuleVerdict, Policy } from './guard-decision.ts';
import type { GuardRun, PackageReport } from './guard-run.ts';
import type { ServiceFindings } from './guard-service.ts';

/** Who runs the guard: the advice names that package manager's commands. */
export type Manager = 'apt' | 'dnf' | null;

export interface GuardReport {
  kernel: {
    release: string;
    btf: string;
    baseBtfSha256: string | null;
    kernelVersion: string | null;
    kernelVersionFrom: string | null;
    config: string | null;
    moduleAllowBtfMismatch: boolean | null;
    unknown: string[];
  };
  policy: Policy;
  decision: Decision;
  packages: PackageReport[];
  /** Every judged module, offline; the service's answers are under `service`. */
  verdicts: ModuleVerdict[];
  service: ServiceFindings | null;
  cannotJudge: string[];
  /** What to do instead, when the guard refuses or warns. */
  advice: string[];
}

const SHOWN_PATHS = 3;
const SHOWN_LOG = 8;

const shortSha = (sha: string | null) => (sha ? `${sha.slice(0, 12)}…` : 'unknown');

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What to do instead of this install, in the words of the package manager that runs it. */
export function adviceFor(
  decision: Decision,
  run: GuardRun,
  kernel: BootedKernel,
  manager: Manager,
  service: ServiceFindings | null,
): string[] {
  if (decision.action !== 'refuse' && decision.action !== 'warn') return [];
  const names = [...new Set(run.packages.filter((p) => p.status === 'judged' && p.name).map((p) => p.name!))];
  const list = names.join(' ');
  const advice: string[] = [];
  const hold =
    manager === 'dnf'
      ? `dnf versionlock add ${list} (or dnf upgrade --exclude=${names.join(',')})`
      : manager === 'apt'
        ? `apt-mark hold ${list}`
        : `apt-mark hold ${list}   # dnf: dnf versionlock add ${list}`;
  advice.push(`hold the package until you can reboot right after installing it: ${hold}`);
  advice.push(
    `or reboot into a newer kernel first (another release than ${kernel.release}, once one is installed): the files this replaces are then no longer the running kernel's`,
  );
  advice.push(
    'or install it and reboot at once; modules already loaded keep working until then, so load what you need first (e.g. modprobe vfat overlay)',
  );
  if (decision.action === 'refuse') {
    const force =
      manager === 'dnf'
        ? 'BTFWATCH_GUARD_FORCE=1 dnf …, or dnf --disableplugin=btfwatch_guard …'
        : manager === 'apt'
          ? 'apt-get -o BtfWatch::Guard::Force=true …, or BTFWATCH_GUARD_FORCE=1 apt-get …'
          : '--force, or BTFWATCH_GUARD_FORCE=1';
    advice.push(`to go ahead anyway: ${force}`);
  }
  for (const p of service?.packages ?? []) if (p.link) advice.push(`details: ${p.link}`);
  if (service?.kernel && !service.packages.some((p) => p.link))
    advice.push(`details of the booted kernel: ${service.kernel.link}`);
  return advice;
}

export function buildReport(
  kernel: BootedKernel,
  run: GuardRun,
  decision: Decision,
  policy: Policy,
  service: ServiceFindings | null,
  manager: Manager,
): GuardReport {
  return {
    kernel: {
      release: kernel.release,
      btf: kernel.btfPath,
      baseBtfSha256: kernel.btf?.sha256 ?? null,
      kernelVersion: kernel.version?.version ?? null,
      kernelVersionFrom: kernel.version?.how ?? null,
      config: kernel.configPath,
      moduleAllowBtfMismatch: kernel.flags ? kernel.flags.MODULE_ALLOW_BTF_MISMATCH : null,
      unknown: kernel.gaps,
    },
    policy,
    decision,
    packages: run.packages,
    verdicts: run.verdicts,
    service,
    cannotJudge: run.cannotJudge,
    advice: adviceFor(decision, run, kernel, manager, service),
  };
}

/** Verdicts grouped by what happens (btf, load, reason), worst first, each with a few paths and the first log. */
function groups(verdicts: ModuleVerdict[]) {
  const byKey = new Map<string, ModuleVerdict[]>();
  for (const v of verdicts) {
    const key = `${v.btf}\0${v.load}\0${v.abi}\0${v.loadReason}`;
    const list = byKey.get(key);
    if (list) list.push(v);
    else byKey.set(key, [v]);
  }
  const rank = { breaks: 0, 'loses-btf': 1, unjudged: 2, ok: 3 } as const;
  return [...byKey.values()].sort((a, b) => rank[a[0]!.outcome] - rank[b[0]!.outcome] || b.length - a.length);
}

function renderVerdicts(verdicts: ModuleVerdict[], release: string, out: string[]): void {
  for (const group of groups(verdicts)) {
    const first = group[0]!;
    out.push(`  ${group.length} × ${first.btf}, ${first.load}, abi ${first.abi}: ${first.loadReason}`);
    if (first.outcome === 'ok') continue;
    const prefix = new RegExp(`^/(?:usr/)?lib/modules/${release.replace(/[.+]/g, '\\$&')}/`);
    const paths = group.slice(0, SHOWN_PATHS).map((v) => v.path.replace(prefix, ''));
    const more = group.length > SHOWN_PATHS ? ` (+${group.length - SHOWN_PATHS} more)` : '';
    out.push(`      e.g. ${paths.join(', ')}${more}`);
    out.push(`      ${first.module}: ${first.explanation}`);
    for (const line of first.log.slice(0, SHOWN_LOG)) out.push(`      | ${line}`);
    if (first.log.length > SHOWN_LOG) out.push(`      | … (${first.log.length - SHOWN_LOG} more lines)`);
  }
}

function kernelLine(r: GuardReport): string {
  const k = r.kernel;
  const version = k.kernelVersion ? `${k.kernelVersion} (from ${k.kernelVersionFrom})` : 'version unknown';
  const config = k.config
    ? `config ${k.config}: MODULE_ALLOW_BTF_MISMATCH ${k.moduleAllowBtfMismatch ? '=y' : 'not set'}`
    : 'config unknown';
  return `booted kernel ${k.release}, ${version}; BTF ${k.btf} (${shortSha(k.baseBtfSha256)}); ${config}`;
}

function packageLine(p: PackageReport): string {
  const name = p.name ? `${p.name} ${p.fromVersion ? `${p.fromVersion} → ` : ''}${p.version}` : p.file;
  const base = p.buildBase ? `; build base: ${p.buildBase}` : '';
  const other = p.otherReleases.length
    ? `; also modules for ${p.otherReleases.join(', ')} (not loaded until a reboot into them)`
    : '';
  return `${name}: ${p.note}${base}${other}`;
}

function verdictSummary(r: GuardReport): string {
  const c = r.decision.counts;
  const release = r.kernel.release;
  const parts = [
    c.breaks ? `${plural(c.breaks, 'module')} would fail to load or load wrong BTF` : '',
    c['loses-btf'] ? `${plural(c['loses-btf'], 'module')} would lose their BTF` : '',
    c.unjudged ? `${c.unjudged} could not be judged` : '',
  ].filter(Boolean);
  const what = parts.join('; ');
  switch (r.decision.action) {
    case 'refuse':
      return r.decision.forced
        ? `FORCED: ${what} on the running kernel ${release}, but the override says go ahead.`
        : `REFUSED: ${what} on the running kernel ${release} once this install replaces their files (it keeps running until a reboot).`;
    case 'warn':
      return `WARNING: ${what} on the running kernel ${release} once this install replaces their files; BPF tools that read their types lose them until a reboot.`;
    case 'unknown':
      return `CANNOT JUDGE: ${[...r.cannotJudge, ...(c.unjudged ? [`${c.unjudged} modules could not be judged`] : [])].join('; ') || 'nothing could be judged'}; not blocking.`;
    case 'pass': {
      const judged = r.verdicts.length;
      const note = c.unjudged ? ` (${c.unjudged} could not be judged)` : '';
      return judged
        ? `OK: the ${plural(judged, 'module')} this installs for the running kernel ${release} keep their BTF${note}.`
        : `OK: nothing here installs modules for the running kernel ${release}.`;
    }
  }
}

function renderService(s: ServiceFindings, out: string[]): void {
  if (s.problem) {
    out.push(`service ${s.url}: ${s.problem}`);
    return;
  }
  if (s.kernel)
    out.push(
      `service ${s.url}: booted kernel is build ${s.kernel.id} (${s.kernel.release} ${s.kernel.version}), ${s.kernel.link}`,
    );
  for (const p of s.packages) {
    out.push(`  ${p.name} ${p.version}: ${p.note}`);
    const mine = s.verdicts.filter((v) => v.package === `${p.name} ${p.version}`);
    const counts = new Map<string, number>();
    for (const v of mine)
      counts.set(
        `${v.btf}, ${v.load}, abi ${v.abi}`,
        (counts.get(`${v.btf}, ${v.load}, abi ${v.abi}`) ?? 0) + 1,
      );
    for (const [k, n] of counts) out.push(`    ${n} × ${k}`);
  }
}

/** The report as people read it, in apt's or dnf's output or a terminal. */
export function renderText(r: GuardReport): string {
  const out: string[] = [`btfwatch guard: ${kernelLine(r)}`];
  for (const gap of r.kernel.unknown) out.push(`  unknown: ${gap}`);
  const shown = r.packages.filter((p) => p.status !== 'skipped');
  const skipped = r.packages.length - shown.length;
  for (const p of shown) {
    out.push(packageLine(p));
    if (p.status === 'judged')
      renderVerdicts(
        r.verdicts.filter((v) => v.package === `${p.name} ${p.version}`),
        r.kernel.release,
        out,
      );
  }
  if (skipped)
    out.push(
      `${plural(skipped, 'other package')} ${skipped === 1 ? 'installs' : 'install'} no modules for ${r.kernel.release}`,
    );
  if (r.verdicts.length && r.verdicts.every((v) => v.abi === 'unknown'))
    out.push(
      "ABI (vermagic, modversions CRCs) not checked: the booted kernel's exported symbol CRCs are not known offline (--api URL asks a btfwatch service that knows them)",
    );
  if (r.service) renderService(r.service, out);
  out.push(verdictSummary(r));
  if (r.advice.length) {
    out.push(
      r.decision.action === 'refuse' && !r.decision.forced ? 'What to do instead:' : 'What you can do:',
    );
    for (const a of r.advice) out.push(`  - ${a}`);
  }
  return `${out.join('\n')}\n`;
}
