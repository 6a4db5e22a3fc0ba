import { validateModuleBtf, type Btf } from '@btfwatch/btf';
import { pinnedVersions } from './dependencies.ts';
import { compareDebianVersions } from './versions.ts';

/** What the build-base rules read of a module build. */
export interface BuildBaseFacts {
  kernelBuildId: number | null;
  buildBaseSha256: string | null;
  btfSha256: string | null;
  hasBtfBase: boolean;
}

/**
 * A module build of a separate package (not in-tree) with split BTF and no distilled base, whose build base
 * is not known yet: the one kind whose base has to be inferred (DESIGN §1).
 */
export function lacksBuildBase(m: BuildBaseFacts): boolean {
  return m.kernelBuildId === null && m.buildBaseSha256 === null && m.btfSha256 !== null && !m.hasBtfBase;
}

/** The modules lacking a build base, grouped by the package they ship in. */
export function byPackageLackingBase<M extends BuildBaseFacts & { packageSha256: string }>(
  modules: readonly M[],
): Map<string, M[]> {
  const byPackage = new Map<string, M[]>();
  for (const m of modules) {
    if (!lacksBuildBase(m)) continue;
    const list = byPackage.get(m.packageSha256) ?? [];
    list.push(m);
    byPackage.set(m.packageSha256, list);
  }
  return byPackage;
}

/** A kernel build a module package declares a dependency on, through one of its packages. */
export interface DeclaredKernel<K> {
  kernel: K;
  packageName: string;
  packageVersion: string;
}

/** The kernels a package's Depends admit: where a dependency pins a version, only that version's build. */
export function admittedKernels<K>(
  depends: readonly string[],
  declared: ReadonlyArray<DeclaredKernel<K>>,
): K[] {
  const pins = pinnedVersions(depends);
  return declared
    .filter((c) => {
      const pin = pins.get(c.packageName);
      return pin === undefined || compareDebianVersions(pin, c.packageVersion) === 0;
    })
    .map((c) => c.kernel);
}

export interface BaseCandidate {
  kernelBuildId: number;
  baseSha256: string;
  base: Btf;
  kernelVersion: string | null;
}

/**
 * The build base of one package's modules: the single candidate base every module's BTF validates against
 * the way that candidate's kernel validates it. Null when none passes, several different bases pass, or a
 * module's BTF is missing.
 */
export function chooseBuildBase(
  candidates: readonly BaseCandidate[],
  modules: ReadonlyArray<{ name: string; btf: Uint8Array | undefined }>,
): { sha256: string; kernelBuildId: number } | null {
  const passing = new Map<string, number>();
  for (const c of candidates) {
    if (passing.has(c.baseSha256)) continue;
    const target = { kernelVersion: c.kernelVersion ?? '0.0.0', allowBtfMismatch: false };
    const all = modules.every((m) => {
      if (!m.btf) return false;
      const verdict = validateModuleBtf(m.btf, c.base, target, m.name);
      return verdict.ok && verdict.btf === 'loaded';
    });
    if (all) passing.set(c.baseSha256, c.kernelBuildId);
  }
  if (passing.size !== 1) return null;
  const [[sha256, kernelBuildId]] = [...passing] as [[string, number]];
  return { sha256, kernelBuildId };
}
