import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from '../args.ts';
import { aptConfigValue, parseAptHookInput, type AptHookInput } from '../apt-hook-input.ts';
import { readBootedKernel, type BootedKernelSources } from '../booted-kernel.ts';
import { POLICIES, decide, mergeVerdicts, type Policy } from '../guard-decision.ts';
import { installHook, uninstallHook, type HookKind } from '../guard-install.ts';
import { buildReport, renderText, type Manager } from '../guard-report.ts';
import { runGuard, type GuardInput } from '../guard-run.ts';
import { askService, type ServiceFindings } from '../guard-service.ts';
import { UsageError } from '../usage.ts';

export const GUARD_USAGE = `btfwatch guard [options] PACKAGE...
  Before kernel packages are installed: for every module the .deb/.rpm PACKAGEs would install for the
  running release (/lib/modules/$(uname -r), /usr/lib/modules/...), predict what the booted kernel does
  with it (BTF verdict, load, first log lines). The build base of those modules is the vmlinuz the
  packages ship for that release. Exit 1 (refuse) when one would fail to load or load corrupt BTF;
  a module that would only lose its BTF is a warning. When it cannot judge (no BTF on the host, a package
  it cannot read) it says so and exits 0: it never blocks on what it cannot tell.
btfwatch guard --install apt|dnf [--root DIR] [options]
  Install the hook that runs this check on every install: apt (an apt.conf.d DPkg::Pre-Install-Pkgs hook,
  protocol version 3, written to /etc/apt/apt.conf.d/80btfwatch-guard, running
  /usr/local/libexec/btfwatch/apt-guard) or dnf 4 (a plugin whose pre_transaction hook runs after the
  downloads, before rpm installs anything). The options given are passed on every run.
btfwatch guard --uninstall apt|dnf [--root DIR]
Options:
  --policy P                 default: refuse what fails to load or is corrupt, warn on lost BTF;
                             strict: refuse both; report: never refuse. Also BTFWATCH_GUARD_POLICY,
                             and for one apt run: apt-get -o BtfWatch::Guard::Policy=P
  --force                    go ahead even when refused (still reports). Also BTFWATCH_GUARD_FORCE=1,
                             and for one apt run: apt-get -o BtfWatch::Guard::Force=true
  --api URL                  also ask a btfwatch service (BTFWATCH_TOKEN: its read token) what it knows of
                             the booted kernel (by its BTF hash) and the packages; offline by default
  --booted-btf FILE          stand in for the host: the booted kernel's BTF (raw, vmlinux or vmlinuz)
                             instead of /sys/kernel/btf/vmlinux
  --booted-release R         its release instead of $(uname -r)
  --booted-config FILE       its .config instead of /boot/config-R (or /proc/config.gz)
  --booted-kernel-version V  its upstream version (e.g. 6.1.192), when neither /proc/version nor the config
                             header can tell it
  --json                     the whole report as JSON
  --apt-hook                 read apt's Pre-Install-Pkgs input (protocol version 1, 2 or 3) from stdin
  --dnf-hook                 as run by the dnf plugin (advice in dnf's terms)
  --root DIR                 with --install/--uninstall: a throwaway root apt (APT_CONFIG, -o Dir) or dnf (-c)
                             is pointed at from this host, not a chroot`;

const TRUE = /^(1|true|yes|on)$/i;

function readHookInput(): AptHookInput {
  if (process.stdin.isTTY)
    throw new UsageError(
      'guard --apt-hook reads what apt writes on stdin; run it from apt, or pipe that input in',
    );
  // APT_HOOK_INFO_FD names the descriptor apt writes to (DPkg::Tools::Options::<cmd>::InfoFD; 0 by default).
  const fd = Number(process.env.APT_HOOK_INFO_FD ?? 0);
  return parseAptHookInput(readFileSync(Number.isInteger(fd) && fd >= 0 ? fd : 0, 'utf8'));
}

function policyOf(value: string, from: string): Policy {
  if ((POLICIES as readonly string[]).includes(value)) return value as Policy;
  throw new UsageError(`${from} ${JSON.stringify(value)}: expected one of ${POLICIES.join(', ')}`);
}

/**
 * Per-run settings win over the installed hook's: apt's -o for this run, then the environment, then the
 * flags. In a hook, a mistyped setting must neither block every install nor silently weaken the check:
 * it is reported and the default policy applies.
 */
function settings(
  values: { policy?: string | undefined; force?: boolean | undefined },
  apt: AptHookInput | null,
  inHook: boolean,
  warnings: string[],
): { policy: Policy; force: boolean } {
  const candidates: Array<[string | undefined, string]> = [
    [apt ? aptConfigValue(apt, 'BtfWatch::Guard::Policy') : undefined, 'BtfWatch::Guard::Policy'],
    [process.env.BTFWATCH_GUARD_POLICY || undefined, 'BTFWATCH_GUARD_POLICY'],
    [values.policy, '--policy'],
  ];
  let policy: Policy = 'default';
  const given = candidates.find(([value]) => value !== undefined);
  if (given) {
    try {
      policy = policyOf(given[0]!, given[1]);
    } catch (err) {
      if (!inHook) throw err;
      warnings.push(`${(err as Error).message}; using the default policy`);
    }
  }
  const aptForce = apt ? aptConfigValue(apt, 'BtfWatch::Guard::Force') : undefined;
  const force =
    values.force === true || TRUE.test(process.env.BTFWATCH_GUARD_FORCE ?? '') || TRUE.test(aptForce ?? '');
  return { policy, force };
}

function kernelVersionOption(v: string | undefined): string | undefined {
  if (v !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(v))
    throw new UsageError(
      `--booted-kernel-version ${JSON.stringify(v)}: give the upstream version X.Y.Z (e.g. 6.1.192)`,
    );
  return v;
}

/** The guard options an installed hook passes on every run (paths made absolute: hooks run elsewhere). */
function forwardedArgs(values: Record<string, string | boolean | undefined>): string[] {
  const args: string[] = [];
  for (const name of ['policy', 'api', 'booted-release', 'booted-kernel-version'] as const) {
    const v = values[name];
    if (typeof v === 'string') args.push(`--${name}`, v);
  }
  for (const name of ['booted-btf', 'booted-config'] as const) {
    const v = values[name];
    if (typeof v === 'string') args.push(`--${name}`, resolve(v));
  }
  return args;
}

function hookKind(value: string, option: string): HookKind {
  if (value === 'apt' || value === 'dnf') return value;
  throw new UsageError(`${option} ${JSON.stringify(value)}: expected apt or dnf`);
}

export async function guard(argv: string[]): Promise<number> {
  const { values, positionals } = parse('guard', argv, {
    policy: { type: 'string' },
    force: { type: 'boolean' },
    json: { type: 'boolean' },
    api: { type: 'string' },
    'booted-btf': { type: 'string' },
    'booted-release': { type: 'string' },
    'booted-config': { type: 'string' },
    'booted-kernel-version': { type: 'string' },
    'apt-hook': { type: 'boolean' },
    'dnf-hook': { type: 'boolean' },
    install: { type: 'string' },
    uninstall: { type: 'string' },
    root: { type: 'string' },
  });
  if (values.install !== undefined) {
    if (values.policy !== undefined) policyOf(values.policy, '--policy');
    kernelVersionOption(values['booted-kernel-version']);
    const installed = await installHook(hookKind(values.install, '--install'), {
      root: values.root,
      guardArgs: forwardedArgs(values),
    });
    process.stdout.write(
      `installed the ${values.install} hook: ${installed.files.join(', ')}\n  ${installed.note}\n  runs: ${installed.command}\n  remove it with: btfwatch guard --uninstall ${values.install}${values.root ? ` --root ${values.root}` : ''}\n`,
    );
    return 0;
  }
  if (values.uninstall !== undefined) {
    const removed = await uninstallHook(hookKind(values.uninstall, '--uninstall'), values.root);
    process.stdout.write(
      removed.length
        ? `removed ${removed.join(', ')}\n`
        : `no ${values.uninstall} hook of btfwatch installed\n`,
    );
    return 0;
  }

  const hook: Manager = values['apt-hook'] ? 'apt' : values['dnf-hook'] ? 'dnf' : null;
  if (!hook && positionals.length === 0) throw new UsageError(`usage: ${GUARD_USAGE}`);
  const sources: BootedKernelSources = {
    btf: values['booted-btf'],
    release: values['booted-release'],
    config: values['booted-config'],
    kernelVersion: kernelVersionOption(values['booted-kernel-version']),
  };
  if (!hook) {
    const missing = positionals.filter((file) => !existsSync(file));
    if (missing.length) throw new UsageError(`guard: no such file: ${missing.join(', ')}`);
    return check(
      values,
      sources,
      positionals.map((file) => ({ file })),
      null,
      null,
    );
  }
  // A hook never blocks on its own failure: only a verdict refuses.
  try {
    const apt = hook === 'apt' ? readHookInput() : null;
    const inputs: GuardInput[] = apt
      ? apt.actions
          .filter((a) => a.action === 'unpack' && a.file)
          .map((a) => ({ file: a.file!, fromVersion: a.oldVersion }))
      : positionals.map((file) => ({ file }));
    return await check(values, sources, inputs, apt, hook);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    process.stdout.write(
      `btfwatch guard: cannot judge (${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? `, ${code}` : ''}); not blocking\n`,
    );
    return 0;
  }
}

async function check(
  values: {
    policy?: string | undefined;
    force?: boolean | undefined;
    json?: boolean | undefined;
    api?: string | undefined;
  },
  sources: BootedKernelSources,
  inputs: GuardInput[],
  apt: AptHookInput | null,
  manager: Manager,
): Promise<number> {
  const warnings: string[] = [];
  const { policy, force } = settings(values, apt, manager !== null, warnings);
  const kernel = await readBootedKernel(sources);
  const run = await runGuard(inputs, kernel);
  let service: ServiceFindings | null = null;
  if (values.api && kernel.btf)
    service = await askService(values.api, kernel.btfPath, run.packages, run.verdicts);
  const effective = mergeVerdicts(run.verdicts, service?.verdicts ?? []);
  const decision = decide(effective, { policy, force, judged: run.judged });
  const report = buildReport(kernel, run, decision, policy, service, manager);
  for (const w of warnings) process.stderr.write(`btfwatch guard: ${w}\n`);
  // In a hook, a transaction that installs nothing for the running release passes silently.
  const quiet =
    manager !== null &&
    decision.action === 'pass' &&
    run.verdicts.length === 0 &&
    run.cannotJudge.length === 0;
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (!quiet) process.stdout.write(renderText(report));
  return decision.exitCode;
}
