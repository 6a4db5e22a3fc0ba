export { compareVersions, kernelBtfFeatures, parseKernelVersion } from './features.ts';
export type { KernelBtfFeatures, KernelVersion } from './features.ts';
export type { ValidationCode, ValidationError } from './errors.ts';
export { relocateModuleBtf } from './relocate-module.ts';
export { BTF_MISMATCH_NOTICE, validateBaseBtf, validateModuleBtf } from './validate-module.ts';
export type {
  BaseBtfVerdict,
  KernelTarget,
  ModuleBtfVerdict,
  RelocationInput,
  RelocationOutcome,
  ValidateModuleOptions,
} from './validate-module.ts';
