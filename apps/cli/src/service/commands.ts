import { loadConfig } from '@btfwatch/config';
import { createLogger } from '../logger.ts';
import { startRuntime, type Role } from './runtime.ts';

/** `btfwatch serve|api|worker`: runs until SIGTERM or SIGINT, then finishes in-flight jobs and exits. */
export async function runService(role: Role): Promise<void> {
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
