import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';

/** What the receiver's routes use; built once at start-up (src/receiver/main.ts) or by a test. */
export interface ReceiverDependencies {
  config: Config;
  temporal: Client;
  orm: MikroORM;
  logger: Logger;
}
