import type { AbiVerdict, BtfVerdict, LoadVerdict } from '@btfwatch/compat';

/**
 * What a module's verdict means for the host: `breaks` (it would fail to load, or load BTF whose types
 * resolve wrongly), `loses-btf` (it loads, without its BTF), `unjudged` (guard cannot tell), `ok`.
 */
export type ModuleOutcome = 'breaks' | 'loses-btf' | 'unjudged' | 'ok';

export function moduleOutcome(v: { btf: BtfVerdict; load: LoadVerdict }): ModuleOutcome {
  if (v.load === 'fails' || v.btf === 'corrupt') return 'breaks';
  if (v.btf === 'rejected') return 'loses-btf';
  if (v.btf === 'unverified') return 'unjudged';
  return 'ok';
}

/** One module file a package would install for the running release, and what the booted kernel does with it. */
export interface ModuleVerdict {
  /** The package (`name version`) that installs it. */
  package: string;
  path: string;
  module: string;
  btf: BtfVerdict;
  load: LoadVerdict;
  abi: AbiVerdict;
  explanation: string;
  /** Why it loads or not (the load part of the explanation). */
  loadReason: string;
  /** Lines the booted kernel would log loading it (dmesg, without timestamps). */
  log: string[];
  outcome: ModuleOutcome;
  /** `offline`: judged here; `service`: what the btfwatch service (--api) answered. */
  source: 'offline' | 'service';
}

/**
 * - `default`: refuse what breaks a module, warn when one only loses its BTF.
 * - `strict`: refuse both.
 * - `report`: never refuse; say what would happen.
 */
export type Policy = 'default' | 'strict' | 'report';
export const POLICIES: readonly Policy[] = ['default', 'strict', 'report'];

export interface Decision {
  /** `unknown`: nothing could be judged (the reasons say why); guard never blocks on that. */
  action: 'refuse' | 'warn' | 'pass' | 'unknown';
  /** Refused, but the operator overrode it (--force, BTFWATCH_GUARD_FORCE, BtfWatch::Guard::Force). */
  forced: boolean;
  exitCode: 0 | 1;
  counts: Record<ModuleOutcome, number>;
}

export function countOutcomes(
  verdicts: ReadonlyArray<Pick<ModuleVerdict, 'outcome'>>,
): Record<ModuleOutcome, number> {
  const counts: Record<ModuleOutcome, number> = { breaks: 0, 'loses-btf': 0, unjudged: 0, ok: 0 };
  for (const v of verdicts) counts[v.outcome]++;
  return counts;
}

/**
 * The policy applied to every verdict (offline and, with --api, the service's: the worse one counts).
 * `judged` is false when guard could not judge at all (no BTF on the host, no package readable).
 */
export function decide(
  verdicts: ReadonlyArray<Pick<ModuleVerdict, 'outcome'>>,
  options: { policy: Policy; force: boolean; judged: boolean },
): Decision {
  const counts = countOutcomes(verdicts);
  const refuses = counts.breaks > 0 || (options.policy === 'strict' && counts['loses-btf'] > 0);
  const warns = counts.breaks > 0 || counts['loses-btf'] > 0;
  let action: Decision['action'];
  if (refuses && options.policy !== 'report') action = 'refuse';
  else if (warns) action = 'warn';
  else if (!options.judged || (verdicts.length > 0 && counts.unjudged === verdicts.length))
    action = 'unknown';
  else action = 'pass';
  const forced = action === 'refuse' && options.force;
  return { action, forced, exitCode: action === 'refuse' && !forced ? 1 : 0, counts };
}

const SEVERITY: Record<ModuleOutcome, number> = { breaks: 3, 'loses-btf': 2, unjudged: 1, ok: 0 };

/**
 * The verdicts the policy counts: per module file, the worse of guard's own and the service's answer
 * (the service may know what guard cannot: the kernel's CRCs, the build base); modules only the service
 * answered for count too.
 */
export function mergeVerdicts(offline: ModuleVerdict[], service: ModuleVerdict[]): ModuleVerdict[] {
  const byPath = new Map<string, ModuleVerdict>();
  for (const v of [...offline, ...service]) {
    const key = `${v.package}\0${v.path}`;
    const held = byPath.get(key);
    if (!held || SEVERITY[v.outcome] > SEVERITY[held.outcome]) byPath.set(key, v);
  }
  return [...byPath.values()];
}
