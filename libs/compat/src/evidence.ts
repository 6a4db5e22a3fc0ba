import type { AbiCheck } from './abi.ts';
import type { BtfAssessment } from './verdict.ts';

/** What a verdict rests on, as stored with it and served by the API: the kernel's predicted log and the ABI check. */
export function assessmentEvidence(btf: BtfAssessment, abi: AbiCheck) {
  return {
    kernelLog: btf.kernelLog,
    onceLog: btf.onceLog,
    validation: btf.validation,
    references: btf.references,
    ...(btf.refutedBuildBase ? { refutedBuildBase: btf.refutedBuildBase } : {}),
    abi: {
      vermagicMatch: abi.vermagicMatch,
      reason: abi.reason,
      mismatchCount: abi.mismatchCount,
      mismatches: abi.mismatches,
    },
  };
}
