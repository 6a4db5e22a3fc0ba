import { destination, pino, type Logger, type LoggerOptions } from 'pino';
import { redactText, type Config } from '@btfwatch/config';

/**
 * JSON logs: on stdout for services, on stderr for one-shot commands whose stdout is their output.
 * Every line passes redactText on its way out, so a credential in a mirror URL never reaches the log,
 * whichever component logged it and however it was nested.
 * Services write asynchronously (a synchronous write per request log line cost the API ~9% of its CPU
 * under load); what is buffered is flushed by `Runtime.stop`, and by pino on process exit.
 */
export function createLogger(config: Config, fd: 1 | 2 = 1): Logger {
  return pino(loggerOptions(config), destination({ dest: fd, sync: fd === 2 }));
}

/** The service's pino options (level, base fields, redaction), for loggers writing elsewhere (tests). */
export function loggerOptions(config: Config): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'btfwatch', pid: process.pid },
    hooks: { streamWrite: redactText },
  };
}

/** Writes out what the logger holds (a no-op for synchronous destinations). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
