export { loadConfig } from './config.ts';
export type { Config, LogLevel } from './config.ts';
export { ConfigError } from './errors.ts';
export { redactDeep, redactText, redactUrl } from './redact.ts';
