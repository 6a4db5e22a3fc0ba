import { coverageGaps, coverageSummary, type CoverageGap } from '@btfwatch/compat';
import { kernelsWithExports, type Executor, type KernelFilter } from '@btfwatch/db';
import type { Handlers } from './types.ts';

/** Every kernel build matching `f` with the inputs it lacks (coverageGaps), and the sentences over all of them. */
export async function coverage(db: Executor, f: KernelFilter = {}) {
  const kernels = await kernelsWithExports(db, f);
  const gaps = kernels
    .map((k) => ({ kernel: k, gaps: coverageGaps(k) }))
    .filter((g): g is { kernel: (typeof kernels)[number]; gaps: CoverageGap[] } => g.gaps.length > 0);
  return {
    kernels: kernels.length,
    complete: kernels.length - gaps.length,
    summary: coverageSummary(gaps),
    gaps,
  };
}

export const coverageHandlers = {
  async getCoverage(request) {
    const q = request.query;
    const found = await coverage(request.server.deps.database.db, q);
    return {
      kernels: found.kernels,
      complete: found.complete,
      summary: found.summary,
      gaps: found.gaps.map(({ kernel: k, gaps }) => ({
        kernel: { id: k.id, distro: k.distro, release: k.release, version: k.version, arch: k.arch },
        missing: gaps,
      })),
    };
  },
} satisfies Handlers;
