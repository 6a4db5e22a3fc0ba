import type { Config } from '@btfwatch/config';
import type { DatabaseHandle } from '@btfwatch/db';
import type { JobQueue } from '@btfwatch/jobs';
import type { Logger } from 'pino';

/** What the process hands the API: configuration and the infrastructure it runs on. */
export interface ApiDeps {
  config: Config;
  database: DatabaseHandle;
  queue: JobQueue;
  logger: Logger;
  version: string;
  /**
   * The API closes the database and the queue when it closes: true where it is their only user (the
   * `api` role); false where workers in the same process share them (`serve`), whose owner closes them.
   */
  ownsResources?: boolean;
}
