import { eq, sql, type SQL } from 'drizzle-orm';
import { preparedRows, type Executor } from '../database.ts';
import { catalogVersions, kernelBuilds, type KernelBuild, type Verdict } from '../schema/index.ts';

/** Which module builds a compat query asks about; every field given narrows the selection. */
export interface CompatSelection {
  packageName?: string | undefined;
  packageVersion?: string | undefined;
  moduleName?: string | undefined;
  moduleBuildId?: number | undefined;
}

export interface CompatQuery {
  kernelBuildId: number;
  /** The module builds asked about; without one, every module build with a verdict on the kernel. */
  selection?: CompatSelection | undefined;
  /** Narrows the page, not the summary. */
  btf?: string[] | undefined;
  limit: number;
  /** Keyset cursor: the last module build id of the previous page. */
  after?: number | undefined;
  /** With a selection: also list up to this many selected module builds without a verdict on the kernel. */
  missingLimit?: number | undefined;
}

export interface CompatVerdict {
  moduleBuildId: number;
  kernelBuildId: number;
  btf: Verdict['btf'];
  load: Verdict['load'];
  loadReason: string | null;
  abi: Verdict['abi'];
  evidence: Record<string, unknown>;
  moduleName: string;
  modulePath: string;
  packageName: string;
  packageVersion: string;
  moduleKernelBuildId: number | null;
}

export interface CompatAnswer {
  /** One page of verdicts of the selection, by module build id. */
  rows: CompatVerdict[];
  /** Count per btf verdict over the whole selection (every page, before the btf filter). */
  summary: Record<string, number>;
  /** Selected module build ids without a verdict on the kernel, ascending, at most `missingLimit`. */
  missing: number[];
}

export function hasSelection(s: CompatSelection | undefined): s is CompatSelection {
  return (
    s !== undefined &&
    (s.packageName !== undefined ||
      s.packageVersion !== undefined ||
      s.moduleName !== undefined ||
      s.moduleBuildId !== undefined)
  );
}

/** The selection's conditions on module_builds `m` and packages `p`. */
function selectionWhere(s: CompatSelection): SQL {
  const c: SQL[] = [];
  if (s.packageName !== undefined) c.push(sql`p.name = ${sql.placeholder('package')}`);
  if (s.packageVersion !== undefined) c.push(sql`p.version = ${sql.placeholder('version')}`);
  if (s.moduleName !== undefined) c.push(sql`m.name = ${sql.placeholder('module')}`);
  if (s.moduleBuildId !== undefined) c.push(sql`m.id = ${sql.placeholder('moduleBuild')}`);
  return sql.join(c, sql` and `);
}

const needsPackages = (s: CompatSelection) => s.packageName !== undefined || s.packageVersion !== undefined;

function buildCompatQuery(q: CompatQuery): SQL {
  const sel = hasSelection(q.selection) ? q.selection : undefined;
  const kernel = sql.placeholder('kernel');
  const joinPackages =
    sel && needsPackages(sel) ? sql`join packages p on p.sha256 = m.package_sha256` : sql``;
  const summaryFrom = sel
    ? sql`verdicts v join module_builds m on m.id = v.module_build_id ${joinPackages}
          where v.kernel_build_id = ${kernel} and ${selectionWhere(sel)}`
    : sql`verdicts v where v.kernel_build_id = ${kernel}`;
  const missing =
    sel && q.missingLimit !== undefined
      ? sql`(select coalesce(json_agg(x.id order by x.id), '[]'::json) from (
              select m.id from module_builds m ${joinPackages}
               where ${selectionWhere(sel)}
                 and not exists (select 1 from verdicts v
                                  where v.module_build_id = m.id and v.kernel_build_id = ${kernel})
               order by m.id limit ${sql.placeholder('missingLimit')}) x)`
      : sql`'[]'::json`;
  const page: SQL[] = [sql`v.kernel_build_id = ${kernel}`];
  if (sel) page.push(selectionWhere(sel));
  if (q.btf?.length) page.push(sql`v.btf = any(${sql.placeholder('btf')}::text[])`);
  // On both sides of the join, so the module builds are read from the cursor on, too.
  if (q.after !== undefined)
    page.push(sql`v.module_build_id > ${sql.placeholder('after')} and m.id > ${sql.placeholder('after')}`);
  // Summary and missing ids are computed once (uncorrelated subqueries); the page joins them laterally
  // so an empty page still answers one row.
  return sql`
    select s.summary, s.missing, pg.*
      from (select (select coalesce(json_object_agg(c.btf, c.n order by c.btf), '{}'::json)
                      from (select v.btf, count(*)::int as n from ${summaryFrom} group by v.btf) c) as summary,
                   ${missing} as missing) s
      left join lateral (
        select v.module_build_id as "moduleBuildId", v.btf, v.load, v.load_reason as "loadReason", v.abi,
               v.evidence, m.name as "moduleName", m.path as "modulePath", p.name as "packageName",
               p.version as "packageVersion", m.kernel_build_id as "moduleKernelBuildId"
          from verdicts v
          join module_builds m on m.id = v.module_build_id
          join packages p on p.sha256 = m.package_sha256
         where ${sql.join(page, sql` and `)}
         order by v.module_build_id
         limit ${sql.placeholder('limit')}) pg on true`;
}

interface CompatRow extends Omit<CompatVerdict, 'moduleBuildId' | 'kernelBuildId' | 'moduleKernelBuildId'> {
  summary: Record<string, number> | string;
  missing: number[] | string;
  moduleBuildId: number | string | bigint | null;
  moduleKernelBuildId: number | string | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/**
 * One round trip for a compat answer: a page of the selection's verdicts on a kernel, the summary of the
 * whole selection and (when asked) which selected module builds have no verdict yet. Sent as a prepared
 * statement per query shape.
 */
export async function compatAnswer(db: Executor, q: CompatQuery): Promise<CompatAnswer> {
  const sel = hasSelection(q.selection) ? q.selection : undefined;
  const shape = [
    sel?.packageName !== undefined ? 'p' : '',
    sel?.packageVersion !== undefined ? 'v' : '',
    sel?.moduleName !== undefined ? 'm' : '',
    sel?.moduleBuildId !== undefined ? 'i' : '',
    q.btf?.length ? 'b' : '',
    q.after !== undefined ? 'a' : '',
    sel && q.missingLimit !== undefined ? 'x' : '',
  ].join('');
  const rows = await preparedRows<CompatRow>(db, `compat_${shape || 'all'}`, () => buildCompatQuery(q), {
    kernel: q.kernelBuildId,
    limit: q.limit,
    package: sel?.packageName,
    version: sel?.packageVersion,
    module: sel?.moduleName,
    moduleBuild: sel?.moduleBuildId,
    btf: q.btf,
    after: q.after,
    missingLimit: q.missingLimit,
  });
  const first = rows[0];
  return {
    summary: first ? json(first.summary) : {},
    missing: first ? json(first.missing).map(Number) : [],
    rows: rows
      .filter((r) => r.moduleBuildId !== null)
      .map((r) => ({
        moduleBuildId: Number(r.moduleBuildId),
        kernelBuildId: q.kernelBuildId,
        btf: r.btf,
        load: r.load,
        loadReason: r.loadReason,
        abi: r.abi,
        evidence: json(r.evidence),
        moduleName: r.moduleName,
        modulePath: r.modulePath,
        packageName: r.packageName,
        packageVersion: r.packageVersion,
        moduleKernelBuildId: r.moduleKernelBuildId === null ? null : Number(r.moduleKernelBuildId),
      })),
  };
}

/** A kernel build and what answers about it depend on besides its own row. */
export interface KernelState {
  kernel: KernelBuild;
  /** The `module_builds` catalog version: selections by name or package can grow when it changes. */
  catalogVersion: number;
}

const catalogVersion = sql<number>`coalesce((select ${catalogVersions.version} from ${catalogVersions}
  where ${catalogVersions.name} = 'module_builds'), 0)`.mapWith(Number);

type KernelStatement = {
  execute(v: Record<string, unknown>): Promise<Array<{ kernel: KernelBuild; catalogVersion: number }>>;
};
const kernelStatements = new WeakMap<object, { byId: KernelStatement; byBase: KernelStatement }>();

/**
 * The kernel a compat query names — a kernel build id, or a base BTF sha256 (the newest build with that
 * base) — with the catalog version, in one prepared round trip.
 */
export async function kernelState(db: Executor, ref: string): Promise<KernelState | undefined> {
  let statements = kernelStatements.get(db);
  if (!statements) {
    const select = () => db.select({ kernel: kernelBuilds, catalogVersion }).from(kernelBuilds);
    statements = {
      byId: select()
        .where(eq(kernelBuilds.id, sql.placeholder('id')))
        .prepare('compat_kernel_by_id') as unknown as KernelStatement,
      byBase: select()
        .where(eq(kernelBuilds.baseBtfSha256, sql.placeholder('sha')))
        .orderBy(sql`${kernelBuilds.id} desc`)
        .limit(1)
        .prepare('compat_kernel_by_base') as unknown as KernelStatement,
    };
    kernelStatements.set(db, statements);
  }
  const [row] = /^[0-9]{1,10}$/.test(ref)
    ? Number(ref) > 2147483647
      ? []
      : await statements.byId.execute({ id: Number(ref) })
    : await statements.byBase.execute({ sha: ref.toLowerCase() });
  return row ? { kernel: row.kernel, catalogVersion: Number(row.catalogVersion) } : undefined;
}
