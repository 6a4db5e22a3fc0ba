// The queries the API and the worker make, EXPLAINed on a database shaped like a real one (hundreds of
// kernel builds, hundreds of thousands of module builds and verdicts): the big table each one filters is
// reached through an index, never read whole, and keyset pages of verdicts come straight off an index
// (no sort of a kernel's verdicts per page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import {
  buildBasesOfModuleBtf,
  compatAnswer,
  dependentModulePackages,
  findModuleBuilds,
  kernelPackageNames,
  kernelsByPackageName,
  kernelsForModules,
  migrateDatabase,
  moduleInputs,
  openDatabase,
  packageFootprint,
  pendingPackages,
  queryVerdicts,
  selectModuleBuilds,
  siblingBuilds,
  getKernel,
  kernelState,
  verdictMatrix,
  verdictSummary,
  type Database,
} from '@btfwatch/db';
import { createTempDatabase } from '../../support/services.ts';

const KERNELS = 200;
const MODULES_PER_KERNEL = 750;
const OOT_PACKAGES = 3000;

/** Realistic shapes and selectivities, written by Postgres itself (seconds, not minutes). */
const FILL = [
  sql`insert into mirrors (kind, url, suites, components, arch, distro)
      values ('apt', 'http://127.0.0.1/debian', '["bookworm-security"]', '["main"]', 'amd64', 'debian')`,
  sql`insert into kernel_builds (distro, release, version, arch, flavour, kernel_version, base_btf_sha256,
        nr_types, str_len, vermagic, suites)
      select 'debian', '6.1.0-' || (i / 3) || '-' || f, '6.1.' || i || '-1', 'amd64', f, '6.1.' || i,
        md5('base' || i) || md5('base2' || i), 100000 + i, 1800000 + i,
        '6.1.0-' || (i / 3) || '-' || f || ' SMP preempt mod_unload modversions',
        jsonb_build_array(case when i % 2 = 0 then 'bookworm' else 'bookworm-security' end)
      from generate_series(1, ${KERNELS}) i,
        lateral (select (array['amd64', 'cloud-amd64', 'rt-amd64'])[1 + i % 3] as f) x`,
  sql`insert into packages (sha256, format, name, version, arch, size, role, depends_on, status)
      select md5('img' || k.id) || md5('img2' || k.id), 'deb', 'linux-image-' || k.release || '-unsigned',
        k.version, 'amd64', 70000000, 'kernel-image', '{kmod,linux-base}', 'ingested'
      from kernel_builds k`,
  sql`insert into packages (sha256, format, name, version, arch, size, role, depends_on, status)
      select md5('oot' || j) || md5('oot2' || j), 'deb', 'vendor-modules-' || j, '1.0-' || j, 'amd64', 50000,
        'out-of-tree-modules', array['linux-image-6.1.0-' || (j % 60) || '-amd64-unsigned'],
        case when j % 100 = 0 then 'pending' else 'ingested' end
      from generate_series(1, ${OOT_PACKAGES}) j`,
  sql`insert into package_locations (package_sha256, mirror_id, suite, url)
      select sha256, 1, 'bookworm-security', 'http://127.0.0.1/debian/pool/' || name from packages`,
  sql`insert into kernel_packages (kernel_build_id, package_sha256, role, has_vmlinuz, modules)
      select k.id, md5('img' || k.id) || md5('img2' || k.id), 'kernel-image', true, ${MODULES_PER_KERNEL}
      from kernel_builds k`,
  sql`insert into module_builds (package_sha256, path, name, release, vermagic, btf_sha256,
        build_base_sha256, build_base_how, kernel_build_id)
      select md5('img' || k.id) || md5('img2' || k.id), 'kernel/drivers/m' || n || '.ko', 'm' || n, k.release,
        k.vermagic, md5('btf' || k.id || '.' || n), k.base_btf_sha256, 'same-build', k.id
      from kernel_builds k, generate_series(1, ${MODULES_PER_KERNEL}) n`,
  sql`insert into module_builds (package_sha256, path, name, release, vermagic, btf_sha256)
      select md5('oot' || j) || md5('oot2' || j), 'updates/dkms/v' || j || '.ko', 'v' || j,
        '6.1.0-' || (j % 60) || '-amd64', '6.1.0-' || (j % 60) || '-amd64 SMP preempt mod_unload modversions',
        md5('vbtf' || j)
      from generate_series(1, ${OOT_PACKAGES}) j`,
  // Each kernel build has verdicts for its own modules and its previous build's.
  sql`insert into verdicts (module_build_id, kernel_build_id, btf, load, abi, evidence)
      select m.id, k.id,
        (array['identical', 'equivalent', 'rejected', 'corrupt', 'unverified'])[1 + (m.id % 37) % 5],
        'loads-with-btf', 'compatible', '{}'::jsonb
      from kernel_builds k join module_builds m on m.kernel_build_id in (k.id, k.id - 3)`,
  sql`insert into alerts (kernel_build_id, cause, severity, summary, affected_modules, details)
      select k.id, 'btf_break:kernel-' || (k.id - 3), case when k.id % 4 = 0 then 'critical' else 'warning' end,
        's', 10, '{}'::jsonb
      from kernel_builds k where k.id > 3`,
  sql`analyze`,
];

const BIG = new Set(['module_builds', 'verdicts']);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

test(
  'every API and worker query uses an index on a database of realistic size',
  { timeout: 300_000 },
  async () => {
    const temp = await createTempDatabase();
    const handle = await openDatabase({ url: temp.url });
    const pool = new pg.Pool({ connectionString: temp.url, max: 2 });
    try {
      await migrateDatabase(handle);
      for (const step of FILL) await handle.db.execute(step);

      // The repository functions themselves, on a connection that records the SQL they send.
      const captured: Array<{ query: string; params: unknown[] }> = [];
      const db = drizzle({
        client: pool,
        logger: { logQuery: (query, params) => void captured.push({ query, params }) },
      }) as unknown as Database;
      const problems: string[] = [];
      const plan = async (query: string, params: unknown[], seqscan: boolean): Promise<PlanNode[]> => {
        const client = await pool.connect();
        try {
          await client.query('begin');
          if (!seqscan) await client.query('set local enable_seqscan = off');
          const res = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
            `explain (format json) ${query}`,
            params,
          );
          return nodes(res.rows[0]!['QUERY PLAN'][0]!.Plan);
        } finally {
          await client.query('rollback');
          client.release();
        }
      };
      const shape = (all: PlanNode[]) =>
        all.map((n) => `${n['Node Type']}(${n['Index Name'] ?? n['Relation Name'] ?? ''})`).join(' ');
      /**
       * Runs `run` and EXPLAINs what it sent. Tables big here (module_builds, verdicts) must not be read
       * whole by the plan Postgres picks; the rest of `indexed` are small in this database, so for them
       * the question is whether an index can serve the filter at all: with sequential scans disabled,
       * each access must carry an index condition.
       */
      const explain = async (
        what: string,
        indexed: string[],
        run: () => Promise<unknown>,
        options: { sorted?: boolean } = {},
      ) => {
        captured.length = 0;
        await run();
        assert.ok(captured.length > 0, `${what} sent a query`);
        for (const { query, params } of captured) {
          const chosen = await plan(query, params, true);
          for (const n of chosen)
            if (
              n['Node Type'] === 'Seq Scan' &&
              BIG.has(n['Relation Name'] ?? '') &&
              indexed.includes(n['Relation Name']!)
            )
              problems.push(`${what}: reads ${n['Relation Name']} whole: ${shape(chosen)}\n  ${query}`);
          if (options.sorted && chosen.some((n) => n['Node Type'] === 'Sort'))
            problems.push(`${what}: sorts instead of reading an index in order: ${shape(chosen)}`);
          const forced = await plan(query, params, false);
          for (const n of forced) {
            const table = n['Relation Name'] ?? '';
            if (BIG.has(table) || !indexed.includes(table)) continue;
            const unindexed =
              n['Node Type'] === 'Seq Scan' ||
              ((n['Node Type'] === 'Index Scan' || n['Node Type'] === 'Index Only Scan') && !n['Index Cond']);
            if (unindexed) problems.push(`${what}: no index serves ${table}: ${shape(forced)}\n  ${query}`);
          }
        }
      };

      const kernel = (await getKernel(db, 100))!;
      const previous = (await getKernel(db, 97))!;
      const [firstModule] = await selectModuleBuilds(db, { kernelBuildIds: [kernel.id] });
      const ownIds = (await selectModuleBuilds(db, { kernelBuildIds: [kernel.id] })).map((m) => m.id);
      const imageName = `linux-image-${kernel.release}-unsigned`;

      await explain(
        'verdict page',
        ['verdicts'],
        () => queryVerdicts(db, { kernelBuildId: kernel.id, limit: 50, after: ownIds[300] }),
        { sorted: true },
      );
      await explain(
        'verdict page of one btf verdict',
        ['verdicts'],
        () =>
          queryVerdicts(db, { kernelBuildId: kernel.id, btf: ['corrupt'], limit: 50, after: ownIds[100] }),
        { sorted: true },
      );
      await explain('verdicts of named module builds', ['verdicts'], () =>
        queryVerdicts(db, { kernelBuildId: kernel.id, moduleBuildIds: ownIds.slice(0, 20), limit: 21 }),
      );
      await explain('verdicts of a package', ['verdicts', 'packages'], () =>
        queryVerdicts(db, { kernelBuildId: kernel.id, packageName: imageName, limit: 50 }),
      );
      // GET /v1/compat: one statement per answer (page, summary of the selection, missing verdicts).
      await explain(
        'compat page of every verdict',
        ['verdicts'],
        () => compatAnswer(db, { kernelBuildId: kernel.id, limit: 100, after: ownIds[300] }),
        { sorted: true },
      );
      await explain('compat page of one btf verdict', ['verdicts'], () =>
        compatAnswer(db, { kernelBuildId: kernel.id, btf: ['rejected', 'corrupt'], limit: 100 }),
      );
      await explain('compat answer for a module name', ['verdicts', 'module_builds'], () =>
        compatAnswer(db, {
          kernelBuildId: kernel.id,
          selection: { moduleName: firstModule!.name },
          limit: 100,
          missingLimit: 5001,
        }),
      );
      await explain('compat answer for a package version', ['verdicts', 'module_builds', 'packages'], () =>
        compatAnswer(db, {
          kernelBuildId: kernel.id,
          selection: { packageName: imageName, packageVersion: kernel.version },
          limit: 50,
          after: ownIds[100],
          missingLimit: 5001,
        }),
      );
      await explain('compat answer for a module build', ['verdicts', 'module_builds'], () =>
        compatAnswer(db, {
          kernelBuildId: kernel.id,
          selection: { moduleBuildId: firstModule!.id },
          limit: 100,
          missingLimit: 5001,
        }),
      );
      await explain('compat kernel by id', ['kernel_builds'], () => kernelState(db, String(kernel.id)));
      await explain('compat kernel by base BTF', ['kernel_builds'], () =>
        kernelState(db, kernel.baseBtfSha256!),
      );
      await explain('build bases of an uploaded module BTF', ['module_builds'], () =>
        buildBasesOfModuleBtf(db, firstModule!.btfSha256!),
      );
      await explain('verdict summary', ['verdicts'], () => verdictSummary(db, kernel.id));
      await explain('verdict summary of earlier modules', ['verdicts'], () =>
        verdictSummary(db, kernel.id, previous.id),
      );
      await explain('matrix', ['verdicts'], () => verdictMatrix(db, [100, 101, 102, 103, 104]));
      await explain('module builds of a package', ['packages', 'module_builds'], () =>
        findModuleBuilds(db, { packageName: imageName, packageVersion: kernel.version, limit: 5001 }),
      );
      await explain('module builds by name', ['module_builds'], () =>
        findModuleBuilds(db, { moduleName: firstModule!.name, limit: 100 }),
      );
      const selection = {
        kernelBuildIds: [kernel.id, previous.id],
        releases: [kernel.release],
        vermagics: [kernel.vermagic!],
        packageSha256s: [firstModule!.packageSha256],
      };
      await explain('relevant module builds', ['module_builds'], () => selectModuleBuilds(db, selection));
      await explain('evaluation inputs', ['module_builds'], () => moduleInputs(db, selection));
      await explain('dependent module packages', ['packages', 'module_builds'], () =>
        dependentModulePackages(db, ['linux-image-6.1.0-5-amd64-unsigned', 'linux-headers-6.1.0-5-amd64']),
      );
      await explain('kernel package names', ['kernel_packages', 'packages'], () =>
        kernelPackageNames(db, kernel.id),
      );
      await explain('kernels a module package matters to', ['kernel_packages', 'packages'], () =>
        kernelsForModules(db, {
          releases: ['6.1.0-5-amd64'],
          vermagics: ['6.1.0-5-amd64 SMP preempt mod_unload modversions'],
          dependsOn: ['linux-image-6.1.0-5-amd64-unsigned'],
        }),
      );
      await explain('kernels by package name', ['packages', 'kernel_packages'], () =>
        kernelsByPackageName(db, [imageName]),
      );
      await explain('package footprint', ['module_builds', 'kernel_packages'], () =>
        packageFootprint(db, firstModule!.packageSha256),
      );
      await explain('pending packages of a mirror', ['packages'], () => pendingPackages(db, 1));
      await explain('sibling builds', ['kernel_builds'], () => siblingBuilds(db, kernel));
      await explain('kernels by release or vermagic', ['kernel_builds'], () =>
        kernelsForModules(db, { releases: [kernel.release], vermagics: [kernel.vermagic!], dependsOn: [] }),
      );
      assert.deepEqual(problems, []);
    } finally {
      await pool.end();
      await handle.close();
      await temp.drop();
    }
  },
);
