import { ConfigError, loadConfig } from '@btfwatch/config';
import { UsageError, createLogger, startRuntime, version, type Role } from './runtime.ts';

const USAGE = `btfwatch ${version} — will this module build get working BTF on that kernel?

usage:
  btfwatch serve                      API + workers in one process (embedded DB/jobs when DATABASE_URL/REDIS_URL unset)
  btfwatch api                        API only (needs DATABASE_URL and REDIS_URL)
  btfwatch worker                     job workers only (needs DATABASE_URL and REDIS_URL); run as many as you like
  btfwatch migrate                    apply database migrations and exit

environment: PORT HOST DATA_DIR DATABASE_URL REDIS_URL BTFWATCH_ADMIN_TOKEN BTFWATCH_READ_TOKEN LOG_LEVEL
  BTFWATCH_UPLOAD_LIMIT BTFWATCH_RATE_LIMIT BTFWATCH_WORKER_CONCURRENCY BTFWATCH_SCAN_INTERVAL
  BTFWATCH_PUBLIC_URL BTFWATCH_WEBHOOK_ALLOW
`;

async function runService(role: Role): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const runtime = await startRuntime(config, role, logger);
  const address = runtime.app?.server.address();
  if (address && typeof address === 'object') {
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    logger.info({ url: `http://${host}:${address.port}` }, 'listening');
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

async function migrate(): Promise<void> {
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

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
    case 'api':
    case 'worker':
      await runService(command);
      return -1; // keeps running
    case 'migrate':
      await migrate();
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
      process.stdout.write(`${version}\n`);
      return 0;
    default:
      void rest;
      throw new UsageError(`unknown command ${JSON.stringify(command)}; see btfwatch --help`);
  }
}

/** One clear line on stderr and a non-zero exit for configuration and usage errors; stack traces otherwise. */
export function reportFatal(err: unknown): number {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`btfwatch: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`btfwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

const isEntry = process.argv[1] && new URL(import.meta.url).pathname === process.argv[1];
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportFatal(err);
    },
  );
}
