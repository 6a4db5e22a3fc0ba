import type { FastifyRequest } from 'fastify';
import {
  assessBtf,
  baseEvidence,
  checkAbi,
  CompatError,
  diffSymvers,
  parseModuleSymvers,
  predictLoad,
  readModuleFacts,
} from '@btfwatch/compat';
import {
  findModuleBuilds,
  getBlob,
  getKernel,
  kernelPackageLinks,
  packages,
  queryVerdicts,
  selectModuleBuilds,
  sha256Hex,
  upsertVerdicts,
  verdicts,
  verdictSummary,
  type Database,
  type KernelBuild,
  type ModuleWithPackage,
  type VerdictRow,
} from '@btfwatch/db';
import { PkgError, decompressModule, detectCompression } from '@btfwatch/pkg';
import { resolveKernel } from '@btfwatch/worker';
import { and, count, eq, inArray, type SQL } from 'drizzle-orm';
import { ApiError, badRequest, notFound } from '../errors.ts';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import { isBaseBtfKnown } from './btf.ts';
import type { Handlers } from './types.ts';

/** Kernel build ids are int4: a longer number names no kernel (and must not reach the database). */
const MAX_ID = 2147483647;

async function findKernel(db: Database, ref: string): Promise<KernelBuild | undefined> {
  if (/^[0-9]+$/.test(ref) && Number(ref) > MAX_ID) return undefined;
  return resolveKernel(db, ref);
}

async function kernelOr404(request: FastifyRequest, ref: string): Promise<KernelBuild> {
  const kernel = await findKernel(request.server.deps.database.db, ref);
  if (!kernel)
    throw notFound(`kernel ${ref}`, { hint: 'a kernel build id, or the sha256 of /sys/kernel/btf/vmlinux' });
  if (!kernel.baseBtfSha256) throw kernelIncomplete(kernel);
  return kernel;
}

const kernelIncomplete = (kernel: KernelBuild) =>
  new ApiError(
    409,
    'KERNEL_INCOMPLETE',
    `kernel ${kernel.id} (${kernel.release} ${kernel.version}) has no vmlinux BTF ingested yet: its image package was not seen or not ingested`,
    { kernelId: kernel.id },
  );

/** Count per btf verdict of the selected module builds on a kernel (every page, not only the one answered). */
async function selectionSummary(
  db: Database,
  kernelBuildId: number,
  moduleBuildIds: number[] | undefined,
): Promise<Record<string, number>> {
  const where: SQL[] = [eq(verdicts.kernelBuildId, kernelBuildId)];
  if (moduleBuildIds)
    where.push(inArray(verdicts.moduleBuildId, moduleBuildIds.length ? moduleBuildIds : [-1]));
  const rows = await db
    .select({ btf: verdicts.btf, n: count() })
    .from(verdicts)
    .where(and(...where))
    .groupBy(verdicts.btf)
    .orderBy(verdicts.btf);
  return Object.fromEntries(rows.map((r) => [r.btf, Number(r.n)]));
}

function verdictView(v: VerdictRow) {
  return {
    module: {
      id: v.moduleBuildId,
      name: v.moduleName,
      path: v.modulePath,
      package: v.packageName,
      version: v.packageVersion,
      kernelBuildId: v.moduleKernelBuildId,
    },
    kernelId: v.kernelBuildId,
    btf: v.btf,
    load: v.load,
    loadReason: v.loadReason,
    abi: v.abi,
    explanation: String(v.evidence.explanation ?? ''),
    evidence: v.evidence,
  };
}

/** Package names of the kernel build: separate module packages depending on one of them share its base. */
async function kernelPackageNames(request: FastifyRequest, kernel: KernelBuild): Promise<Set<string>> {
  const { db } = request.server.deps.database;
  const links = await kernelPackageLinks(db, kernel.id);
  if (links.length === 0) return new Set();
  const rows = await db
    .select({ name: packages.name })
    .from(packages)
    .where(
      inArray(
        packages.sha256,
        links.map((l) => l.packageSha256),
      ),
    );
  return new Set(rows.map((r) => r.name));
}

/**
 * Verdicts not stored yet are computed now (and stored), so any module build × kernel pair can be asked;
 * at most `max` of them (by module build id), returning how many were computed and how many are still missing.
 */
async function ensureVerdicts(
  request: FastifyRequest,
  kernel: KernelBuild,
  modules: ModuleWithPackage[],
  max = MAX_ON_DEMAND,
): Promise<{ computed: number; missing: number }> {
  const { db } = request.server.deps.database;
  // Ids only: a full image's verdicts carry megabytes of evidence this does not need.
  const have = new Set<number>();
  for (let i = 0; i < modules.length; i += 1000) {
    const rows = await db
      .select({ id: verdicts.moduleBuildId })
      .from(verdicts)
      .where(
        and(
          eq(verdicts.kernelBuildId, kernel.id),
          inArray(
            verdicts.moduleBuildId,
            modules.slice(i, i + 1000).map((m) => m.id),
          ),
        ),
      );
    for (const r of rows) have.add(r.id);
  }
  const absent = modules.filter((m) => !have.has(m.id)).sort((x, y) => x.id - y.id);
  const missing = absent.slice(0, max);
  if (missing.length === 0) return { computed: 0, missing: absent.length };
  const evaluator = request.server.evaluator;
  const names = await kernelPackageNames(request, kernel);
  const ctx = await evaluator.kernelContext(kernel);
  const computed = await evaluator.evaluate(ctx, missing, {
    buildBaseOf: (m) =>
      m.kernelBuildId === null && m.depends.some((d) => names.has(d.split(/[\s(:]/)[0] ?? ''))
        ? { sha256: kernel.baseBtfSha256!, how: 'declared-dependency' }
        : null,
  });
  await upsertVerdicts(
    db,
    computed.map((c) => c.row),
  );
  return { computed: missing.length, missing: absent.length - missing.length };
}

/** Most verdicts one request computes (a full Debian image has ~4,000 modules). */
const MAX_ON_DEMAND = 5000;

export const compatHandlers: Handlers = {
  async getCompat(request: FastifyRequest) {
    const q = request.query as {
      kernel: string;
      package?: string;
      version?: string;
      module?: string;
      moduleBuild?: number;
      btf?: string[];
      limit: number;
      cursor?: string;
    };
    const { db } = request.server.deps.database;
    const kernel = await kernelOr404(request, q.kernel);
    const selective = q.package !== undefined || q.module !== undefined || q.moduleBuild !== undefined;
    let moduleIds: number[] | undefined;
    if (selective) {
      const modules = q.moduleBuild
        ? await selectModuleBuilds(db, { ids: [q.moduleBuild] })
        : await findModuleBuilds(db, {
            packageName: q.package,
            packageVersion: q.version,
            moduleName: q.module,
            limit: MAX_ON_DEMAND + 1,
          });
      if (modules.length === 0) throw notFound('module builds matching the query');
      if (modules.length > MAX_ON_DEMAND)
        throw badRequest(
          'QUERY_TOO_BROAD',
          `more than ${MAX_ON_DEMAND} module builds match; narrow the query`,
        );
      await ensureVerdicts(request, kernel, modules);
      moduleIds = modules.map((m) => m.id);
    }
    const rows = await queryVerdicts(db, {
      kernelBuildId: kernel.id,
      moduleBuildIds: moduleIds,
      packageName: selective ? undefined : q.package,
      btf: q.btf,
      limit: q.limit,
      after: cursorValue(q.cursor, Number.MAX_SAFE_INTEGER),
    });
    return {
      kernel: kernelView(kernel),
      items: rows.map(verdictView),
      summary: await selectionSummary(db, kernel.id, moduleIds),
      nextCursor: nextCursor(rows, q.limit, (v) => v.moduleBuildId),
    };
  },

  async checkUpload(request: FastifyRequest) {
    const q = request.query as { kernel: string; buildBase?: string; name?: string };
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.byteLength === 0) {
      throw badRequest(
        'EMPTY_UPLOAD',
        'send the module file as the request body (Content-Type: application/octet-stream)',
      );
    }
    const kernel = await kernelOr404(request, q.kernel);
    const compression = detectCompression(body);
    const suffix =
      compression === 'xz'
        ? '.ko.xz'
        : compression === 'zstd'
          ? '.ko.zst'
          : compression === 'gzip'
            ? '.ko.gz'
            : '.ko';
    const fileName = q.name ?? `upload${suffix}`;
    let facts;
    try {
      const elf = await decompressModule(`upload${suffix}`, body);
      facts = readModuleFacts(fileName, elf);
    } catch (err) {
      if (err instanceof PkgError || err instanceof CompatError)
        throw badRequest('INVALID_MODULE', `not a kernel module: ${err.message}`);
      throw err;
    }
    const { db } = request.server.deps.database;
    const evaluator = request.server.evaluator;
    let buildBase = null;
    if (q.buildBase) {
      const sha = await buildBaseSha(db, q.buildBase);
      const btf = await evaluator.bases.get(sha);
      if (!btf) throw notFound(`build base ${q.buildBase}`);
      buildBase = { btf, sha256: sha, how: 'uploaded' };
    }
    const ctx = await evaluator.kernelContext(kernel);
    const moduleSide = { name: facts.name, btf: facts.btf, btfBase: facts.btfBase, buildBase };
    const btf = assessBtf(moduleSide, ctx.side, evaluator.deps);
    const abi = checkAbi({ vermagic: facts.vermagic, importedCrcs: facts.importedCrcs }, ctx.abi);
    const load = predictLoad(btf.btf, abi, ctx.side.flags);
    return {
      kernel: kernelView(kernel),
      module: {
        name: facts.name,
        vermagic: facts.vermagic,
        srcversion: facts.srcversion,
        btfSha256: facts.btf ? sha256Hex(facts.btf) : null,
        hasBtfBase: facts.btfBase !== null,
        size: body.byteLength,
      },
      btf: btf.btf,
      load: load.load,
      loadReason: load.reason,
      abi: abi.abi,
      explanation: `${btf.explanation}; ${load.reason}`,
      evidence: {
        ...baseEvidence(ctx.side, moduleSide),
        kernelLog: btf.kernelLog,
        onceLog: btf.onceLog,
        validation: btf.validation,
        references: btf.references,
        abi: {
          vermagicMatch: abi.vermagicMatch,
          reason: abi.reason,
          mismatchCount: abi.mismatchCount,
          mismatches: abi.mismatches,
        },
      },
    };
  },

  async diffKernels(request: FastifyRequest) {
    const { a, b } = request.params as { a: number; b: number };
    const { compute } = request.query as { compute: number };
    const { db } = request.server.deps.database;
    const [ka, kb] = [await getKernel(db, a), await getKernel(db, b)];
    if (!ka) throw notFound(`kernel ${a}`);
    if (!kb) throw notFound(`kernel ${b}`);
    const evaluator = request.server.evaluator;
    const [ba, bb] = [
      ka.baseBtfSha256 ? await evaluator.bases.get(ka.baseBtfSha256) : null,
      kb.baseBtfSha256 ? await evaluator.bases.get(kb.baseBtfSha256) : null,
    ];
    const base: Record<string, unknown> = {
      identical: ka.baseBtfSha256 !== null && ka.baseBtfSha256 === kb.baseBtfSha256,
      nrTypes: [ka.nrTypes, kb.nrTypes],
      strLen: [ka.strLen, kb.strLen],
    };
    if (ba && bb) Object.assign(base, request.server.baseDiff(ba, bb));

    let crcs: Record<string, unknown> = { known: false };
    if (ka.symversSha256 && kb.symversSha256) {
      const [ta, tb] = [await getBlob(db, ka.symversSha256), await getBlob(db, kb.symversSha256)];
      const changes = diffSymvers(
        parseModuleSymvers(Buffer.from(ta!).toString()),
        parseModuleSymvers(Buffer.from(tb!).toString()),
      );
      crcs = {
        known: true,
        changed: changes.filter((c) => c.before !== null && c.after !== null).length,
        added: changes.filter((c) => c.before === null).length,
        removed: changes.filter((c) => c.after === null).length,
        examples: changes.slice(0, 50),
      };
    }

    const own = await selectModuleBuilds(db, { kernelBuildIds: [ka.id] });
    let computed = 0;
    let notComputed = own.length;
    let reason: string | null = null;
    if (!kb.baseBtfSha256) {
      reason = `kernel ${kb.id} has no vmlinux BTF ingested yet`;
    } else {
      ({ computed, missing: notComputed } = await ensureVerdicts(request, kb, own, compute));
      if (notComputed > 0)
        reason =
          `at most ${compute} verdicts are computed per request: ask again, or ask ` +
          `/v1/compat?kernel=${kb.id}&package=<package> for the modules of one package`;
    }
    const summary = kb.baseBtfSha256 ? await verdictSummary(db, kb.id, ka.id) : [];
    const modules = {
      total: own.length,
      evaluated: summary.reduce((n, s) => n + s.count, 0),
      computed,
      notComputed,
      reason,
      summary,
      link: `/v1/compat?kernel=${kb.id}&moduleBuild=`,
    };
    return { from: kernelView(ka), to: kernelView(kb), base, crcs, modules };
  },
};

/** The base BTF sha256 a `buildBase` names: a kernel build's base, or a base BTF stored here (uploaded or a kernel's). */
async function buildBaseSha(db: Database, ref: string): Promise<string> {
  if (/^[0-9]+$/.test(ref)) {
    const kernel = await findKernel(db, ref);
    if (!kernel) throw notFound(`build base kernel ${ref}`);
    if (!kernel.baseBtfSha256) throw kernelIncomplete(kernel);
    return kernel.baseBtfSha256;
  }
  const sha = ref.toLowerCase();
  if (!(await isBaseBtfKnown(db, sha)))
    throw notFound(`base BTF ${sha}`, {
      hint: 'upload it first with POST /v1/btf (raw BTF, vmlinux or vmlinuz), or name a kernel build id',
    });
  return sha;
}
