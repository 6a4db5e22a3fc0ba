import { alertHandlers } from './alerts.ts';
import { btfHandlers } from './btf.ts';
import { compatHandlers } from './compat.ts';
import { jobHandlers } from './jobs.ts';
import { kernelHandlers } from './kernels.ts';
import { mirrorHandlers } from './mirrors.ts';
import { matrixHandlers } from './matrix.ts';
import { serviceHandlers } from './service.ts';
import { webhookHandlers } from './webhooks.ts';
import type { Handlers } from './types.ts';

export function routeHandlers(): Handlers {
  return {
    ...serviceHandlers,
    ...jobHandlers,
    ...kernelHandlers,
    ...mirrorHandlers,
    ...alertHandlers,
    ...matrixHandlers,
    ...webhookHandlers,
    ...compatHandlers,
    ...btfHandlers,
  };
}
