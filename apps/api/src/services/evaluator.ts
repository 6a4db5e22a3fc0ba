import fp from 'fastify-plugin';
import type { Btf } from '@btfwatch/btf';
import { describeBaseDiff } from '@btfwatch/compat';
import { createEvaluator, type Evaluator } from '@btfwatch/evaluate';

declare module 'fastify' {
  interface FastifyInstance {
    /** Computes verdicts on request (compat queries, uploads, diffs). */
    evaluator: Evaluator;
    /** What differs between two base BTFs, for kernel diffs. */
    baseDiff: (a: Btf, b: Btf) => Record<string, unknown>;
  }
}

/**
 * Two bases' diff walks both type graphs (seconds for a vmlinux) and never changes: keep the last few, as a
 * kernel page and its diff links ask for the same pairs again.
 */
function cachedBaseDiff(capacity = 16): (a: Btf, b: Btf) => Record<string, unknown> {
  const cache = new Map<string, Record<string, unknown>>();
  return (a, b) => {
    const key = `${a.sha256}>${b.sha256}`;
    let diff = cache.get(key);
    if (diff) cache.delete(key);
    else diff = describeBaseDiff(a, b);
    cache.set(key, diff);
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return diff;
  };
}

/** The evaluator routes compute on-demand verdicts with, and the kernel-diff cache. */
export type EvaluatorPlugin = typeof evaluator;

export const evaluator = fp(
  async (app) => {
    app.decorate('evaluator', createEvaluator(app.deps.database));
    app.decorate('baseDiff', cachedBaseDiff());
  },
  { name: 'evaluator', dependencies: ['resources'] },
);
