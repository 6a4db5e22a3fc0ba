import { asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { moduleBuilds, packages } from '../schema/index.ts';
import { moduleSelectionFilter, type ModuleSelection, type ModuleWithPackage } from './modules.ts';

/**
 * What an evaluation reads of a module build and its package. Imported CRCs are left out of the selection
 * (about 1.25 KB of JSON per module): the evaluator loads them with each batch, unless the row carries them.
 */
export type EvaluationModule = Pick<
  ModuleWithPackage,
  | 'id'
  | 'packageSha256'
  | 'name'
  | 'release'
  | 'vermagic'
  | 'btfSha256'
  | 'btfBaseSha256'
  | 'hasBtfBase'
  | 'buildBaseSha256'
  | 'buildBaseHow'
  | 'kernelBuildId'
  | 'packageName'
  | 'packageVersion'
  | 'depends'
> &
  Partial<Pick<ModuleWithPackage, 'importedCrcs'>>;

/** Module builds matching the selection, in id order, with the columns an evaluation reads. */
export async function selectEvaluationModules(
  db: Executor,
  sel: ModuleSelection,
): Promise<EvaluationModule[]> {
  const where = moduleSelectionFilter(sel);
  if (!where) return [];
  return db
    .select({
      id: moduleBuilds.id,
      packageSha256: moduleBuilds.packageSha256,
      name: moduleBuilds.name,
      release: moduleBuilds.release,
      vermagic: moduleBuilds.vermagic,
      btfSha256: moduleBuilds.btfSha256,
      btfBaseSha256: moduleBuilds.btfBaseSha256,
      hasBtfBase: moduleBuilds.hasBtfBase,
      buildBaseSha256: moduleBuilds.buildBaseSha256,
      buildBaseHow: moduleBuilds.buildBaseHow,
      kernelBuildId: moduleBuilds.kernelBuildId,
      packageName: packages.name,
      packageVersion: packages.version,
      depends: packages.depends,
    })
    .from(moduleBuilds)
    .innerJoin(packages, eq(packages.sha256, moduleBuilds.packageSha256))
    .where(where)
    .orderBy(asc(moduleBuilds.id));
}

/** Imported [symbol, crc] pairs of the given module builds, by id. */
export async function importedCrcsOf(
  db: Executor,
  ids: number[],
): Promise<Map<number, Array<[string, number]>>> {
  const out = new Map<number, Array<[string, number]>>();
  if (ids.length === 0) return out;
  const rows = await db
    .select({ id: moduleBuilds.id, crcs: moduleBuilds.importedCrcs })
    .from(moduleBuilds)
    .where(inArray(moduleBuilds.id, ids));
  for (const r of rows) out.set(r.id, r.crcs);
  return out;
}
