import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from './errors.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  port: number;
  host: string;
  /** Absolute path; holds the embedded database (when DATABASE_URL is unset) and download scratch space. */
  dataDir: string;
  /** Postgres connection string; undefined means the embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  /** Redis connection string; undefined means jobs run in-process (persisted in the database). */
  redisUrl: string | undefined;
  /** Bearer token for admin endpoints; undefined disables them. */
  adminToken: string | undefined;
  /** When set, read endpoints also need this bearer token (or the admin token). */
  readToken: string | undefined;
  logLevel: LogLevel;
  /** Largest accepted upload (module or base BTF) in bytes. */
  uploadLimitBytes: number;
  /** Most bytes an upload may decompress to (a module's ELF, a kernel image's vmlinux); a bomb stops here. */
  uploadExpandedLimitBytes: number;
  /** Largest JSON request body in bytes (JSON is parsed whole, so its limit is apart from files'). */
  jsonLimitBytes: number;
  /** Uploads decoded and checked at once (POST /v1/btf, POST /v1/compat/check); more get 429. */
  uploadConcurrency: number;
  /** Most milliseconds a client may take to send a whole request (headers and body); 0 = no limit. */
  requestTimeoutMs: number;
  /** Requests per minute per client IP; 0 disables rate limiting. */
  rateLimitPerMinute: number;
  /** Jobs each worker process runs at once per queue. */
  workerConcurrency: number;
  /** Seconds between scheduled scans of each mirror; 0 disables the schedule. */
  scanIntervalSeconds: number;
  /** Base URL of the dashboard, for links in webhook payloads. */
  publicUrl: string;
  /** Hosts or CIDRs webhooks may target even though they are private, loopback or link-local. */
  webhookAllowlist: string[];
  /** Redis key prefix of the BullMQ queues; deployments sharing one Redis keep them apart with it. */
  queuePrefix: string;
  /** How long a BullMQ job stays locked to a worker without renewal: a dead worker's job returns after this. */
  jobLockMs: number;
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `an integer from ${min} to ${max}`, raw);
  }
  return Number(raw);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `a URL (${protocols.join(' or ')})`, raw);
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(name, `a URL (${protocols.join(' or ')})`, raw);
  return raw;
}

function token(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16 || /\s/.test(raw))
    throw new ConfigError(name, 'a token of at least 16 non-space characters', '(hidden)');
  return raw;
}

function queuePrefix(env: Env): string {
  const raw = env.BTFWATCH_QUEUE_PREFIX?.trim() || 'btfwatch';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw))
    throw new ConfigError('BTFWATCH_QUEUE_PREFIX', 'letters, digits, _ or -', raw);
  return raw;
}

const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads and validates the whole configuration once; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const host = env.HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError('HOST', 'a hostname or IP address', host);
  const dataDirRaw = env.DATA_DIR?.trim() || './data';
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', LOG_LEVELS.join('|'), env.LOG_LEVEL);
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const publicUrl =
    url(env, 'BTFWATCH_PUBLIC_URL', ['http:', 'https:']) ??
    `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    port,
    host,
    dataDir: isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    adminToken: token(env, 'BTFWATCH_ADMIN_TOKEN'),
    readToken: token(env, 'BTFWATCH_READ_TOKEN'),
    logLevel,
    uploadLimitBytes: integer(env, 'BTFWATCH_UPLOAD_LIMIT', 64 * 1024 * 1024, 1024, 2 ** 31),
    uploadExpandedLimitBytes: integer(
      env,
      'BTFWATCH_UPLOAD_EXPANDED_LIMIT',
      128 * 1024 * 1024,
      1024,
      2 ** 31,
    ),
    jsonLimitBytes: integer(env, 'BTFWATCH_JSON_LIMIT', 1024 * 1024, 1024, 2 ** 31),
    uploadConcurrency: integer(env, 'BTFWATCH_UPLOAD_CONCURRENCY', 2, 1, 1024),
    requestTimeoutMs: integer(env, 'BTFWATCH_REQUEST_TIMEOUT_MS', 60_000, 0, 3_600_000),
    rateLimitPerMinute: integer(env, 'BTFWATCH_RATE_LIMIT', 1200, 0, 10_000_000),
    workerConcurrency: integer(env, 'BTFWATCH_WORKER_CONCURRENCY', 2, 1, 64),
    scanIntervalSeconds: integer(env, 'BTFWATCH_SCAN_INTERVAL', 6 * 3600, 0, 365 * 86400),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    queuePrefix: queuePrefix(env),
    jobLockMs: integer(env, 'BTFWATCH_JOB_LOCK_MS', 120_000, 1000, 3_600_000),
    webhookAllowlist: (env.BTFWATCH_WEBHOOK_ALLOW ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
