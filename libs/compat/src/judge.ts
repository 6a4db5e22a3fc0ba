import { checkAbi, type AbiCheck, type AbiKernel, type AbiModule, type AbiVerdict } from './abi.ts';
import { assessmentEvidence } from './evidence.ts';
import { predictLoad, type BtfVerdict, type LoadPrediction, type LoadVerdict } from './load.ts';
import {
  assessBtf,
  baseEvidence,
  type BtfAssessment,
  type BtfAssessmentDeps,
  type KernelBtfSide,
  type ModuleBtfSide,
} from './verdict.ts';

/** Everything known of the booted kernel K that a verdict reads. */
export interface KernelFacts {
  btf: KernelBtfSide;
  abi: AbiKernel;
}

/** Everything known of the module build M that a verdict reads. */
export type ModuleInput = ModuleBtfSide & AbiModule;

/** The full answer for M on K (DESIGN §2): btf, abi and load verdicts, one explanation, the evidence. */
export interface Judgement {
  btf: BtfVerdict;
  load: LoadVerdict;
  loadReason: string;
  abi: AbiVerdict;
  explanation: string;
  evidence: ReturnType<typeof judgementEvidence>;
  /** The parts the verdicts came from, for callers that report more than the answer (e.g. the CLI's log lines). */
  assessment: BtfAssessment;
  abiCheck: AbiCheck;
}

/** The one sentence a verdict is explained by. */
export function explain(btf: Pick<BtfAssessment, 'explanation'>, load: LoadPrediction): string {
  return `${btf.explanation}; ${load.reason}`;
}

function judgementEvidence(
  explanation: string,
  btf: BtfAssessment,
  abi: AbiCheck,
  kernel: KernelFacts,
  module: Pick<ModuleBtfSide, 'buildBase'>,
) {
  return { explanation, ...baseEvidence(kernel.btf, module), ...assessmentEvidence(btf, abi) };
}

/**
 * What K does with M: its BTF (assessBtf), modversions (checkAbi), whether it loads (predictLoad), and why.
 * Every path to a verdict (the worker's evaluations, the API's uploads, the CLI) comes through here.
 * M's BTF bytes are needed only where its facts do not decide the verdict (see assessBtfFromFacts).
 */
export function judgeModule(module: ModuleInput, kernel: KernelFacts, deps: BtfAssessmentDeps): Judgement {
  const assessment = assessBtf(module, kernel.btf, deps);
  const abiCheck = checkAbi(module, kernel.abi);
  const load = predictLoad(assessment, abiCheck, kernel.btf.flags);
  const explanation = explain(assessment, load);
  return {
    btf: assessment.btf,
    load: load.load,
    loadReason: load.reason,
    abi: abiCheck.abi,
    explanation,
    evidence: judgementEvidence(explanation, assessment, abiCheck, kernel, module),
    assessment,
    abiCheck,
  };
}
