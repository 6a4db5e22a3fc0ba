import { reportFatal } from './fatal.ts';
import { UsageError } from './usage.ts';
import { version } from './version.ts';

// Commands are loaded when they run: `btfwatch --help`, `inspect`, `check` and `guard` never load the service's
// stack (fastify, BullMQ, ioredis, pg, PGlite).

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
  btfwatch healthcheck [ROLE]         exit 0 when the service answers (the container image's HEALTHCHECK)
  btfwatch scan --apt URL --suite S   one-shot mirror scan into the configured database (see btfwatch scan --help)
  btfwatch inspect FILE               summarise or dump (--types) the BTF of a vmlinuz, vmlinux or module
  btfwatch check --kernel FILE MOD... predict what a kernel does with modules' BTF (or --api URL on a host)
  btfwatch guard PKG...               before installing kernel packages: refuse what would break the booted
                                      kernel's modules (--install apt|dnf hooks it into the package manager)

environment: PORT HOST DATA_DIR DATABASE_URL REDIS_URL BTFWATCH_ADMIN_TOKEN BTFWATCH_READ_TOKEN LOG_LEVEL
  BTFWATCH_UPLOAD_LIMIT BTFWATCH_RATE_LIMIT BTFWATCH_WORKER_CONCURRENCY BTFWATCH_SCAN_INTERVAL
  BTFWATCH_PUBLIC_URL BTFWATCH_WEBHOOK_ALLOW
  check --api, guard --api: BTFWATCH_TOKEN (bearer token for the service)
  guard: BTFWATCH_GUARD_POLICY BTFWATCH_GUARD_FORCE
`;

const SERVICE_USAGE: Record<string, string> = {
  serve: `btfwatch serve
  The API and the job workers in one process. Without DATABASE_URL it keeps an embedded PostgreSQL (PGlite)
  under DATA_DIR; without REDIS_URL jobs run in-process. Listens on HOST:PORT (default 127.0.0.1:8080).`,
  api: `btfwatch api
  The HTTP API only, beside separate \`btfwatch worker\` processes; needs DATABASE_URL and REDIS_URL.
  Migrates the database on start.`,
  worker: `btfwatch worker
  Job workers only (scan-mirror, ingest-package, evaluate-kernel, deliver-webhook); needs DATABASE_URL and
  REDIS_URL. Start as many as you like, on any number of machines.`,
  healthcheck: `btfwatch healthcheck [serve|api|worker]
  Exit 0 when the service answers: /readyz on PORT for serve and api; the database and Redis for a worker. The
  container image's HEALTHCHECK; the role defaults to that of the container's main process.`,
  migrate: `btfwatch migrate
  Applies the database migrations (DATABASE_URL, else the embedded database under DATA_DIR) and exits.`,
};

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
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (command) {
    case 'serve':
    case 'api':
    case 'worker': {
      if (wantsHelp) return help(SERVICE_USAGE[command]!);
      const { runService } = await import('./service/commands.ts');
      await runService(command);
      return -1; // keeps running
    }
    case 'migrate': {
      if (wantsHelp) return help(SERVICE_USAGE.migrate!);
      const { migrate } = await import('./service/commands.ts');
      await migrate();
      return 0;
    }
    case 'healthcheck': {
      if (wantsHelp) return help(SERVICE_USAGE.healthcheck!);
      const { healthcheck } = await import('./service/commands.ts');
      return healthcheck(rest[0]);
    }
    case 'scan': {
      const { SCAN_USAGE, scan } = await import('./commands/scan.ts');
      if (wantsHelp) return help(SCAN_USAGE);
      return scan(rest);
    }
    case 'inspect': {
      const { INSPECT_USAGE, inspect } = await import('./commands/inspect.ts');
      if (wantsHelp) return help(INSPECT_USAGE);
      return inspect(rest);
    }
    case 'check': {
      const { CHECK_USAGE, check } = await import('./commands/check.ts');
      if (wantsHelp) return help(CHECK_USAGE);
      return check(rest);
    }
    case 'guard': {
      const { GUARD_USAGE, guard } = await import('./commands/guard.ts');
      if (wantsHelp) return help(GUARD_USAGE);
      return guard(rest);
    }
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
