import { BtfError } from '@btfwatch/btf';
import { CompatError } from '@btfwatch/compat';
import { ConfigError, loadConfig } from '@btfwatch/config';
import { ElfError } from '@btfwatch/elf';
import { MirrorError } from '@btfwatch/mirror';
import { PkgError } from '@btfwatch/pkg';
import { CHECK_USAGE, check } from './commands/check.ts';
import { INSPECT_USAGE, inspect } from './commands/inspect.ts';
import { SCAN_USAGE, scan } from './commands/scan.ts';
import { UsageError, createLogger, startRuntime, version, type Role } from './runtime.ts';

function help(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

const USAGE = `btfwatch ${version} — will this module build get working BTF on that kernel?

usage:
  btfwatch serve                      API + workers in one process (embedded DB/jobs when DATABASE_URL/REDIS_URL unset)
  btfwatch api                        API only (needs DATABASE_URL and REDIS_URL)
  btfwatch worker                     job workers only (needs DATABASE_URL and REDIS_URL); run as many as you like
  btfwatch migrate                    apply database migrations and exit
  btfwatch scan --apt URL --suite S   one-shot mirror scan into the configured database (see btfwatch scan --help)
  btfwatch inspect FILE               summarise or dump (--types) the BTF of a vmlinuz, vmlinux or module
  btfwatch check --kernel FILE MOD... predict what a kernel does with modules' BTF (or --api URL on a host)

environment: PORT HOST DATA_DIR DATABASE_URL REDIS_URL BTFWATCH_ADMIN_TOKEN BTFWATCH_READ_TOKEN LOG_LEVEL
  BTFWATCH_UPLOAD_LIMIT BTFWATCH_RATE_LIMIT BTFWATCH_WORKER_CONCURRENCY BTFWATCH_SCAN_INTERVAL
  BTFWATCH_PUBLIC_URL BTFWATCH_WEBHOOK_ALLOW
  check --api: BTFWATCH_TOKEN (bearer token for the service)
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

/** `btfwatch inspect --types | head` closes the pipe early: that is not an error. */
function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnEpipe();
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
    case 'scan':
      if (rest.includes('--help')) return help(SCAN_USAGE);
      return scan(rest);
    case 'inspect':
      if (rest.includes('--help')) return help(INSPECT_USAGE);
      return inspect(rest);
    case 'check':
      if (rest.includes('--help')) return help(CHECK_USAGE);
      return check(rest);
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
      throw new UsageError(`unknown command ${JSON.stringify(command)}; see btfwatch --help`);
  }
}

/** One clear line on stderr and a non-zero exit for configuration and usage errors; stack traces otherwise. */
export function reportFatal(err: unknown): number {
  if (err instanceof ConfigError || err instanceof UsageError) {
    process.stderr.write(`btfwatch: ${err.message}\n`);
    return 2;
  }
  // Malformed files and unreachable mirrors are the user's input, not our bug: one line, no stack.
  if (
    err instanceof PkgError ||
    err instanceof BtfError ||
    err instanceof ElfError ||
    err instanceof CompatError ||
    err instanceof MirrorError
  ) {
    process.stderr.write(`btfwatch: ${err.message} (${err.code})\n`);
    return 1;
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) {
    process.stderr.write(`btfwatch: ${err.message}\n`);
    return 1;
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
