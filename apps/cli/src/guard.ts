/**
 * The parts of `btfwatch guard` (package name @btfwatch/cli/guard), for tests and benches: none of them
 * loads the service runtime.
 */
export { aptConfigValue, parseAptHookInput } from './apt-hook-input.ts';
export type { AptAction, AptHookInput } from './apt-hook-input.ts';
export { kernelFacts, readBootedKernel } from './booted-kernel.ts';
export type { BootedKernel, BootedKernelSources } from './booted-kernel.ts';
export { POLICIES, countOutcomes, decide, mergeVerdicts, moduleOutcome } from './guard-decision.ts';
export type { Decision, ModuleOutcome, ModuleVerdict, Policy } from './guard-decision.ts';
export { GuardError } from './guard-errors.ts';
export type { GuardErrorCode } from './guard-errors.ts';
export { installHook, selfCommand, uninstallHook } from './guard-install.ts';
export { detectFormat, probePackage } from './guard-packages.ts';
export type { PackageProbe } from './guard-packages.ts';
export { buildReport, renderText } from './guard-report.ts';
export type { GuardReport } from './guard-report.ts';
export { runGuard } from './guard-run.ts';
export type { GuardInput, GuardRun, PackageReport } from './guard-run.ts';
