/**
 * @btfwatch/evaluate — verdicts computed from stored facts: the database side of libs/compat's rules,
 * shared by the worker (evaluations) and the API (on-demand verdicts).
 */
export { BaseCache } from './bases.ts';
export { inferBuildBases, settleBuildBases, withInferredBases } from './build-base.ts';
export type { InferredBase } from './build-base.ts';
export { createEvaluator } from './create.ts';
export { Evaluator } from './engine.ts';
export type { EvaluateOptions, KernelContext, ModuleVerdict } from './engine.ts';
export { kernelVerdicts } from './kernel-verdicts.ts';
export type { KernelVerdictDeps, KernelVerdicts } from './kernel-verdicts.ts';
export { StoredPairDiffs, packBaseDiff, unpackBaseDiff } from './pairs.ts';
export { kernelsAffected, queueEvaluations } from './queue-evaluations.ts';
export type { ModuleReach } from './queue-evaluations.ts';
export { evaluationInputs, relevance, relevantModules, resolveKernel } from './relevant.ts';
export type { Relevance, RelevantModules } from './relevant.ts';
