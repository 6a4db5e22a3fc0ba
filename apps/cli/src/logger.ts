import { destination, pino, type Logger } from 'pino';
import type { Config } from '@btfwatch/config';

/**
 * JSON logs: on stdout for services, on stderr for one-shot commands whose stdout is their output.
 * Services write asynchronously (a synchronous write per request log line cost the API ~9% of its CPU
 * under load); what is buffered is flushed by `Runtime.stop`, and by pino on process exit.
 */
export function createLogger(config: Config, fd: 1 | 2 = 1): Logger {
  return pino(
    { level: config.logLevel, base: { service: 'btfwatch', pid: process.pid } },
    destination({ dest: fd, sync: fd === 2 }),
  );
}

/** Writes out what the logger holds (a no-op for synchronous destinations). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
