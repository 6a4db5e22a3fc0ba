import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CompatError,
  diffSymvers,
  judgeModule,
  parseModuleSymvers,
  readModuleFacts,
  type BuildBase,
} from '@btfwatch/compat';
import {
  buildBasesOfModuleBtf,
  compatAnswer,
  getBlob,
  getKernel,
  hasSelection,
  selectModuleBuilds,
  sha256Hex,
  modulesWithVerdicts,
  upsertVerdicts,
  verdictSummary,
  type CompatSelection,
  type CompatVerdict,
  type Database,
  type KernelBuild,
  type ModuleWithPackage,
} from '@btfwatch/db';
import { PkgError, compressedModuleSuffix, decompressModule } from '@btfwatch/pkg';
import { resolveKernel, settleBuildBases } from '@btfwatch/evaluate';
import { ifNoneMatch, type CachedResponse } from '../services/compat-cache.ts';
import { ApiError, badRequest, expandsTooFar, notFound } from '../errors.ts';
import { uploadDecoding } from '../upload-decoding.ts';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import { isBaseBtfKnown } from './btf.ts';
import type { Handlers, OperationRequest } from './types.ts';

/** Kernel build ids are int4: a longer number names no kernel (and must not reach the database). */
const MAX_ID = 2147483647;

async function findKernel(db: Database, ref: string): Promise<KernelBuild | undefined> {
  if (/^[0-9]+$/.test(ref) && Number(ref) > MAX_ID) return undefined;
  return resolveKernel(db, ref);
}

const kernelNotFound = (ref: string) =>
  notFound(`kernel ${ref}`, { hint: 'a kernel build id, or the sha256 of /sys/kernel/btf/vmlinux' });

async function kernelOr404(request: FastifyRequest, ref: string): Promise<KernelBuild> {
  const kernel = await findKernel(request.server.deps.database.db, ref);
  if (!kernel) throw kernelNotFound(ref);
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

function verdictView(v: CompatVerdict) {
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

/**
 * Computes and stores the verdicts of `modules` on the kernel; returns the kernel's new verdicts version.
 * Separate module packages without a stored build base get one only where the worker's inference
 * validates it (and queues the other kernels that changes); otherwise their base stays unknown
 * (unverified at best), never assumed to be the kernel asked about.
 */
async function computeVerdicts(
  request: FastifyRequest,
  kernel: KernelBuild,
  modules: ModuleWithPackage[],
): Promise<number | undefined> {
  if (modules.length === 0) return undefined;
  const { database, queue } = request.server.deps;
  const evaluator = request.server.evaluator;
  const settled = await settleBuildBases({ db: database.db, queue, bases: evaluator.bases }, modules, kernel);
  const ctx = await evaluator.kernelContext(kernel);
  const computed = await evaluator.evaluate(ctx, settled.modules);
  const versions = await upsertVerdicts(
    database.db,
    computed.map((c) => c.row),
  );
  return versions.get(kernel.id);
}

/**
 * Verdicts of `modules` not stored yet are computed now (and stored), at most `max` of them (by module
 * build id); returns how many were computed and how many are still missing.
 */
async function ensureVerdicts(
  request: FastifyRequest,
  kernel: KernelBuild,
  modules: ModuleWithPackage[],
  max: number,
): Promise<{ computed: number; missing: number }> {
  const have = await modulesWithVerdicts(
    request.server.deps.database.db,
    kernel.id,
    modules.map((m) => m.id),
  );
  const absent = modules.filter((m) => !have.has(m.id)).sort((x, y) => x.id - y.id);
  const missing = absent.slice(0, max);
  const version = await computeVerdicts(request, kernel, missing);
  if (version !== undefined) request.server.compatCache.kernels.changedById(kernel.id, version);
  return { computed: missing.length, missing: absent.length - missing.length };
}

/** Most verdicts one request computes (a full Debian image has ~4,000 modules). */
const MAX_ON_DEMAND = 5000;

type CompatParams = OperationRequest<'getCompat'>['query'];

/** Requests asking the same thing share one key: the kernel by id, btf verdicts as a set, defaults filled. */
function compatKey(kernelId: number, q: CompatParams, after: number | undefined): string {
  const btf = q.btf?.length ? [...new Set(q.btf)].sort() : null;
  return JSON.stringify([
    kernelId,
    q.package ?? null,
    q.version ?? null,
    q.module ?? null,
    q.moduleBuild ?? null,
    btf,
    q.limit,
    after ?? null,
  ]);
}

interface CompatBody {
  kernel: unknown;
  items: unknown[];
  summary: Record<string, number>;
  nextCursor: string | null;
}

/**
 * An answer as UTF-8 JSON, encoded item by item: a page of 100 verdicts with their evidence is ~150 KB,
 * and encoding the string JSON.stringify makes of the whole page costs V8 about three times as much as
 * encoding each item's (measured: 2.3 vs 0.8 ms), more than building the JSON.
 */
function compatBody(answer: CompatBody): Buffer {
  const parts = [Buffer.from(`{"kernel":${JSON.stringify(answer.kernel)},"items":[`)];
  answer.items.forEach((item, i) => parts.push(Buffer.from(`${i ? ',' : ''}${JSON.stringify(item)}`)));
  parts.push(
    Buffer.from(
      `],"summary":${JSON.stringify(answer.summary)},"nextCursor":${JSON.stringify(answer.nextCursor)}}`,
    ),
  );
  return Buffer.concat(parts);
}

function sendCached(request: FastifyRequest, reply: FastifyReply, hit: CachedResponse): FastifyReply {
  void reply.header('etag', hit.etag);
  if (ifNoneMatch(request.headers['if-none-match'], hit.etag)) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(hit.body);
}

export const compatHandlers = {
  async getCompat(request, reply) {
    const q = request.query;
    const { db } = request.server.deps.database;
    const { kernels, responses } = request.server.compatCache;
    const entry = await kernels.get(db, q.kernel);
    if (!entry) throw kernelNotFound(q.kernel);
    const kernel = entry.kernel;
    if (!kernel.baseBtfSha256) throw kernelIncomplete(kernel);
    const after = cursorValue(q.cursor, Number.MAX_SAFE_INTEGER);
    const key = compatKey(kernel.id, q, after);
    const hit = responses.get(key, entry.token);
    if (hit) return sendCached(request, reply, hit);

    const selection: CompatSelection = {
      packageName: q.package,
      packageVersion: q.version,
      moduleName: q.module,
      moduleBuildId: q.moduleBuild,
    };
    const selective = hasSelection(selection);
    const query = { kernelBuildId: kernel.id, selection, btf: q.btf, limit: q.limit, after };
    let token = entry.token;
    let answer = await compatAnswer(db, {
      ...query,
      missingLimit: selective ? MAX_ON_DEMAND + 1 : undefined,
    });
    if (answer.missing.length > MAX_ON_DEMAND)
      throw badRequest(
        'QUERY_TOO_BROAD',
        `more than ${MAX_ON_DEMAND} of the module builds this selects have no verdict on kernel ${kernel.id} yet; narrow the query`,
      );
    if (answer.missing.length > 0) {
      const modules = await selectModuleBuilds(db, { ids: answer.missing });
      const version = await computeVerdicts(request, kernel, modules);
      // Read after the verdicts were stored: the answer is at least as new as the version.
      if (version !== undefined) token = kernels.changed(entry, version).token;
      answer = await compatAnswer(db, query);
    }
    // Every selected module build has a verdict now: an empty summary means none is selected.
    if (selective && Object.keys(answer.summary).length === 0)
      throw notFound('module builds matching the query');
    request.server.compatCache.remember(request, key, token);
    // Validated as usual (preSerialization), then written by compatBody; fastify sends a Buffer as is
    // (its type for serializers says string).
    void reply
      .type('application/json; charset=utf-8')
      .serializer(compatBody as unknown as (payload: unknown) => string);
    return {
      kernel: entry.view,
      items: answer.rows.map(verdictView),
      summary: answer.summary,
      nextCursor: nextCursor(answer.rows, q.limit, (v) => v.moduleBuildId),
    };
  },

  async checkUpload(request) {
    const q = request.query;
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.byteLength === 0) {
      throw badRequest(
        'EMPTY_UPLOAD',
        'send the module file as the request body (Content-Type: application/octet-stream)',
      );
    }
    const kernel = await kernelOr404(request, q.kernel);
    const suffix = compressedModuleSuffix(body) ?? '.ko';
    const fileName = q.name ?? `upload${suffix}`;
    let facts;
    try {
      const elf = await decompressModule(`upload${suffix}`, body, uploadDecoding(request.server.deps.config));
      facts = readModuleFacts(fileName, elf);
    } catch (err) {
      if (err instanceof PkgError && err.code === 'PKG_LIMIT_EXCEEDED')
        throw expandsTooFar(request.server.deps.config.uploadExpandedLimitBytes, err.message);
      if (err instanceof PkgError || err instanceof CompatError)
        throw badRequest('INVALID_MODULE', `not a kernel module: ${err.message}`);
      throw err;
    }
    const { db } = request.server.deps.database;
    const evaluator = request.server.evaluator;
    const btfSha256 = facts.btf ? sha256Hex(facts.btf) : null;
    let buildBase: BuildBase | null = null;
    if (q.buildBase) {
      const sha = await buildBaseSha(db, q.buildBase);
      const btf = await evaluator.bases.get(sha);
      if (!btf) throw notFound(`build base ${q.buildBase}`);
      buildBase = { btf, sha256: sha, how: 'uploaded', claimed: true };
    } else if (btfSha256) {
      // The same .BTF bytes as a module build seen on a mirror: generated against that build's base.
      const known = await buildBasesOfModuleBtf(db, btfSha256);
      const only = known.length === 1 ? known[0]! : undefined;
      const btf = only ? await evaluator.bases.get(only.buildBaseSha256) : null;
      if (only && btf)
        buildBase = {
          btf,
          sha256: only.buildBaseSha256,
          how: 'known-module-build',
          moduleBuildId: only.moduleBuildId,
        };
    }
    const ctx = await evaluator.kernelContext(kernel);
    // The whole assessment: an unverified verdict says why (unknown base, or unknown kernel version).
    const judged = judgeModule({ ...facts, buildBase }, ctx, evaluator.deps);
    return {
      kernel: kernelView(kernel),
      module: {
        name: facts.name,
        vermagic: facts.vermagic,
        srcversion: facts.srcversion,
        btfSha256,
        hasBtfBase: facts.btfBase !== null,
        size: body.byteLength,
      },
      btf: judged.btf,
      load: judged.load,
      loadReason: judged.loadReason,
      abi: judged.abi,
      explanation: judged.explanation,
      evidence: judged.evidence,
    };
  },

  async diffKernels(request) {
    const { a, b } = request.params;
    const { compute } = request.query;
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
} satisfies Handlers;

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
