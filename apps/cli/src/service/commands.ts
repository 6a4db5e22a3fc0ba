import { readFileSync } from 'node:fs';
import { loadConfig } from '@btfwatch/config';
import { createLogger } from '../logger.ts';
import { embeddedAdminToken } from './admin-token.ts';
import { startRuntime, type Role } from './runtime.ts';

/** `btfwatch serve|api|worker`: runs until SIGTERM or SIGINT, then finishes in-flight jobs and exits. */
export async function runService(role: Role): Promise<void> {
  let config = loadConfig();
  const logger = createLogger(config);
  // The embedded first run can do its job: admin requests (adding a mirror) take the token kept in DATA_DIR.
  const generated =
    role === 'serve' && !config.databaseUrl && !config.adminToken ? embeddedAdminToken(config.dataDir) : null;
  if (generated) config = { ...config, adminToken: generated.token };
  const runtime = await startRuntime(config, role, logger);
  const address = runtime.app?.server.address();
  if (address && typeof address === 'object') {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}`;
    logger.info({ url }, 'listening');
    if (generated) {
      logger.info(
        { adminTokenFile: generated.path, created: generated.created },
        'admin API token (BTFWATCH_ADMIN_TOKEN unset)',
      );
      process.stderr.write(
        `btfwatch: listening on ${url}; admin token in ${generated.path} (BTFWATCH_ADMIN_TOKEN unset). Add a mirror:\n` +
          `  curl -H "authorization: Bearer $(cat ${generated.path})" -H 'content-type: application/json' \\\n` +
          `    -d '{"kind":"apt","url":"http://deb.debian.org/debian-security","suites":["bookworm-security"]}' ${url}/v1/mirrors\n`,
      );
    }
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight jobs');
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

export async function migrate(): Promise<void> {
  const config = loadConfig();
  const { openDatabase, migrateDatabase } = await import('@btfwatch/db');
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateDatabase(database);
    process.stdout.write(`migrated ${database.kind} database at ${database.location}\n`);
  } finally {
    await database.close();
  }
}

/** The role the container's main process runs (its command line), for `healthcheck` inside an image. */
function containerRole(): string | null {
  try {
    const args = readFileSync('/proc/1/cmdline', 'latin1').split('\0');
    return args.find((a) => a === 'serve' || a === 'api' || a === 'worker') ?? null;
  } catch {
    return null;
  }
}

/**
 * `btfwatch healthcheck [ROLE]` (the image's HEALTHCHECK): for serve and api, /readyz on PORT answers 200; for a
 * worker, its database and Redis answer. Exit 0 when healthy, 1 with one line on stderr otherwise.
 */
export async function healthcheck(role: string | undefined): Promise<number> {
  const config = loadConfig();
  const which = role ?? containerRole() ?? 'serve';
  try {
    if (which === 'worker') {
      const { openDatabase } = await import('@btfwatch/db');
      const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      try {
        await database.ping();
      } finally {
        await database.close();
      }
      if (config.redisUrl) {
        const { Redis } = await import('ioredis');
        const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
        // The failure is reported by connect/ping below.
        redis.on('error', () => undefined);
        try {
          await redis.connect();
          await redis.ping();
        } finally {
          redis.disconnect();
        }
      }
      return 0;
    }
    const res = await fetch(`http://127.0.0.1:${config.port}/readyz`, { signal: AbortSignal.timeout(8000) });
    if (res.ok) return 0;
    process.stderr.write(`btfwatch healthcheck: /readyz answered ${res.status}: ${await res.text()}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`btfwatch healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
