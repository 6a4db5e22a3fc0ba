export { checkAbi, sameVermagic } from './abi.ts';
export type { AbiCheck, AbiKernel, AbiModule, AbiVerdict, SymbolMismatch } from './abi.ts';
export { CompatError } from './errors.ts';
export type { CompatErrorCode } from './errors.ts';
export { configFlags, parseKernelConfig } from './kconfig.ts';
export type { KernelConfigFlags } from './kconfig.ts';
export { predictLoad } from './load.ts';
export type { BtfVerdict, LoadPrediction, LoadVerdict } from './load.ts';
export { crossCheckExports, diffSymvers, formatModuleSymvers, parseModuleSymvers } from './symvers.ts';
export type { CrcChange, ExportedSymbol, ExportsCrossCheck } from './symvers.ts';
export { compareDebianVersions } from './versions.ts';
export { readModuleFacts, readVmlinuxBtf, readVmlinuxExports, vermagicFromImage } from './module-facts.ts';
export type { ModuleFacts } from './module-facts.ts';
export {
  kernelVersionFromBanner,
  kernelVersionFromRelease,
  distroFromRelease,
  releaseFlavour,
  upstreamVersion,
} from './release.ts';
export type { FoundKernelVersion } from './release.ts';
export { assessBtf, assessBtfFromFacts, baseEvidence } from './verdict.ts';
export { assessmentEvidence } from './evidence.ts';
export type {
  BtfAssessment,
  BtfAssessmentDeps,
  BuildBase,
  KernelBtfSide,
  ModuleBtfFacts,
  ModuleBtfSide,
  ReferenceComparison,
} from './verdict.ts';
export { explain, judgeModule } from './judge.ts';
export type { Judgement, KernelFacts, ModuleInput } from './judge.ts';
export { PairDiffCache, btfAssessmentDeps, describeBaseDiff } from './references.ts';
export { misplacedBaseReferences } from './reference-kinds.ts';
export type { MisplacedReference } from './reference-kinds.ts';
export {
  ALERT_MODULES_SHOWN,
  affectedPackages,
  breaksBtf,
  isInPlaceUpload,
  uploadBreakAlert,
  uploadCause,
  weakUpdatesBreakAlert,
  weakUpdatesCause,
} from './alert.ts';
export { isWeakUpdatesPair, kabiStream } from './weak-updates.ts';
export type { AffectedPackage, AlertCandidate, AlertKernel, AlertRecord } from './alert.ts';
export { admittedKernels, byPackageLackingBase, chooseBuildBase, lacksBuildBase } from './build-base.ts';
export type { BaseCandidate, BuildBaseFacts, DeclaredKernel } from './build-base.ts';
export { dependencyNames, pinnedVersions } from './dependencies.ts';
export { PREVIOUS_BUILDS, previousUploads } from './relevance.ts';
export type { UploadFacts } from './relevance.ts';
export { coverageGaps, coverageSummary } from './coverage.ts';
export type { CoverageFacts, CoverageGap, CoverageInput } from './coverage.ts';
