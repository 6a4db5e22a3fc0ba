import { redactDeep } from '@btfwatch/config';
import type { JobInfo } from '@btfwatch/jobs';
import { notFound } from '../errors.ts';
import type { Handlers } from './types.ts';

/** A job as readers see it: mirror credentials in its data, error and warnings replaced by `***`. */
export function jobView(job: JobInfo) {
  return redactDeep({
    ...job,
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt ? job.finishedAt.toISOString() : null,
  });
}

export const jobHandlers = {
  async getJob(request) {
    const { id } = request.params;
    const job = await request.server.deps.queue.get(id);
    if (!job) throw notFound(`job ${id}`);
    return jobView(job);
  },

  async listJobs(request) {
    const q = request.query;
    const { queue } = request.server.deps;
    const items = await queue.list({
      ...(q.state ? { states: [q.state] } : {}),
      ...(q.name ? { names: [q.name] } : {}),
      limit: q.limit ?? 50,
    });
    return { items: items.map(jobView), counts: await queue.counts() };
  },
} satisfies Handlers;
