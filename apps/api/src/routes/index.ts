import { jobHandlers } from './jobs.ts';
import { serviceHandlers } from './service.ts';
import type { Handlers } from './types.ts';

export function routeHandlers(): Handlers {
  return { ...serviceHandlers, ...jobHandlers };
}
