import { validateModuleBtf } from '@btfwatch/btf';
import { compareDebianVersions } from '@btfwatch/compat';
import {
  dependencyNames,
  getBlobs,
  kernelsByPackageName,
  lacksBuildBase,
  pinnedVersions,
  setBuildBase,
  type Database,
  type KernelBuild,
  type ModuleWithPackage,
} from '@btfwatch/db';
import type { BaseCache } from './bases.ts';

export interface InferredBase {
  packageSha256: string;
  /** The base BTF the package's modules were generated against. */
  sha256: string;
  /** The candidate kernel build whose base it is. */
  kernelBuildId: number;
  moduleIds: number[];
}

/**
 * Build bases of separate module packages (DESIGN §1): the kernel builds whose packages the module
 * package declares a dependency on are the candidates (only the pinned version where a dependency pins
 * one); the build base is the single candidate base that every module's BTF validates against the way
 * that kernel validates it. It is stored as `validated` on the module rows (and patched into `modules`);
 * no passing candidate, or several different ones, leaves the base unknown.
 */
export async function inferBuildBases(
  db: Database,
  bases: BaseCache,
  modules: ModuleWithPackage[],
): Promise<InferredBase[]> {
  const byPackage = new Map<string, ModuleWithPackage[]>();
  for (const m of modules) {
    if (!lacksBuildBase(m)) continue;
    const list = byPackage.get(m.packageSha256) ?? [];
    list.push(m);
    byPackage.set(m.packageSha256, list);
  }
  const found: InferredBase[] = [];
  for (const [packageSha256, list] of byPackage) {
    const depends = list[0]!.depends;
    const pins = pinnedVersions(depends);
    const candidates = new Map<number, KernelBuild>();
    for (const c of await kernelsByPackageName(db, dependencyNames(depends))) {
      const pin = pins.get(c.packageName);
      if (pin === undefined || compareDebianVersions(pin, c.packageVersion) === 0)
        candidates.set(c.kernel.id, c.kernel);
    }
    if (candidates.size === 0) continue;
    const blobs = await getBlobs(
      db,
      list.map((m) => m.btfSha256!),
    );
    const passing = new Map<string, number>();
    for (const k of candidates.values()) {
      const base = await bases.get(k.baseBtfSha256!);
      if (!base || passing.has(k.baseBtfSha256!)) continue;
      const target = { kernelVersion: k.kernelVersion ?? '0.0.0', allowBtfMismatch: false };
      const all = list.every((m) => {
        const btf = blobs.get(m.btfSha256!);
        if (!btf) return false;
        const verdict = validateModuleBtf(btf, base, target, m.name);
        return verdict.ok && verdict.btf === 'loaded';
      });
      if (all) passing.set(k.baseBtfSha256!, k.id);
    }
    if (passing.size !== 1) continue;
    const [[sha256, kernelBuildId]] = [...passing] as [[string, number]];
    const moduleIds = list.map((m) => m.id);
    await setBuildBase(db, moduleIds, sha256, 'validated');
    for (const m of list) {
      m.buildBaseSha256 = sha256;
      m.buildBaseHow = 'validated';
    }
    found.push({ packageSha256, sha256, kernelBuildId, moduleIds });
  }
  return found;
}
