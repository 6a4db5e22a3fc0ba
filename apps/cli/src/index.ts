export { main } from './main.ts';
export { reportFatal } from './fatal.ts';
export { createLogger, loggerOptions } from './logger.ts';
export { UsageError } from './usage.ts';
export { version } from './version.ts';
export { startRuntime } from './service/runtime.ts';
export type { Role, Runtime, RuntimeOptions } from './service/runtime.ts';
