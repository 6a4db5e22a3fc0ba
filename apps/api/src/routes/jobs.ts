import type { FastifyRequest } from 'fastify';
import type { JobInfo, JobName, JobState } from '@btfwatch/jobs';
import { notFound } from '../errors.ts';
import type { Handlers } from './types.ts';

export function jobView(job: JobInfo) {
  return {
    ...job,
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt ? job.finishedAt.toISOString() : null,
  };
}

export const jobHandlers: Handlers = {
  async getJob(request: FastifyRequest) {
    const { id } = request.params as { id: string };
    const job = await request.server.deps.queue.get(id);
    if (!job) throw notFound(`job ${id}`);
    return jobView(job);
  },

  async listJobs(request: FastifyRequest) {
    const q = request.query as { state?: JobState; name?: JobName; limit?: number };
    const { queue } = request.server.deps;
    const items = await queue.list({
      ...(q.state ? { states: [q.state] } : {}),
      ...(q.name ? { names: [q.name] } : {}),
      limit: q.limit ?? 50,
    });
    return { items: items.map(jobView), counts: await queue.counts() };
  },
};
