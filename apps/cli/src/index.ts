export { main, reportFatal } from './main.ts';
export { startRuntime, createLogger, UsageError, version } from './runtime.ts';
export type { Role, Runtime } from './runtime.ts';
