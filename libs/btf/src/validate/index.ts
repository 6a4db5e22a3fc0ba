export { compareVersions, kernelBtfFeatures, parseKernelVersion } from './features.ts';
export type { KernelBtfFeatures, KernelVersion } from './features.ts';
export type { ValidationCode, ValidationError } from './errors.ts';
export { BTF_MISMATCH_NOTICE, validateModuleBtf } from './validate-module.ts';
export type {
  KernelTarget,
  ModuleBtfVerdict,
  RelocationInput,
  RelocationOutcome,
  ValidateModuleOptions,
} from './validate-module.ts';
