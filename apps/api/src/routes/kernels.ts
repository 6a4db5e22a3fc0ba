import {
  getKernel,
  kernelLocations,
  kernelPackageLinks,
  kernelsByBaseBtf,
  listKernels,
  packagesBySha256,
  verdictSummary,
} from '@btfwatch/db';
import { badRequest, notFound } from '../errors.ts';
import { cursorValue, kernelView, nextCursor } from '../views.ts';
import type { Handlers } from './types.ts';

export const kernelHandlers = {
  async listKernels(request) {
    const q = request.query;
    const rows = await listKernels(request.server.deps.database.db, q, {
      limit: q.limit,
      before: cursorValue(q.cursor),
    });
    return { items: rows.map(kernelView), nextCursor: nextCursor(rows, q.limit, (k) => k.id) };
  },

  async getKernelsByBtf(request) {
    const { sha256 } = request.params;
    const hash = sha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw badRequest(
        'INVALID_SHA256',
        `"${sha256}" is not a sha256 (64 hex digits): use sha256sum /sys/kernel/btf/vmlinux`,
      );
    }
    const rows = await kernelsByBaseBtf(request.server.deps.database.db, hash);
    if (rows.length === 0) throw notFound(`kernel with base BTF ${hash}`);
    return { items: rows.map(kernelView), nextCursor: null };
  },

  async getKernel(request) {
    const { id } = request.params;
    const { db } = request.server.deps.database;
    const kernel = await getKernel(db, id);
    if (!kernel) throw notFound(`kernel ${id}`);
    const links = await kernelPackageLinks(db, id);
    const pkgRows = await packagesBySha256(
      db,
      links.map((l) => l.packageSha256),
    );
    const byHash = new Map(pkgRows.map((p) => [p.sha256, p]));
    return {
      ...kernelView(kernel),
      packages: links.map((l) => ({
        name: byHash.get(l.packageSha256)?.name ?? '',
        version: byHash.get(l.packageSha256)?.version ?? '',
        sha256: l.packageSha256,
        role: l.role,
        hasVmlinuz: l.hasVmlinuz,
        modules: l.modules,
      })),
      verdicts: await verdictSummary(db, id),
      locations: await kernelLocations(db, id),
      links: {
        self: `/v1/kernels/${id}`,
        compat: `/v1/compat?kernel=${id}`,
        alerts: `/v1/alerts?kernel=${id}`,
        dashboard: `/#/kernels/${id}`,
      },
    };
  },
} satisfies Handlers;
