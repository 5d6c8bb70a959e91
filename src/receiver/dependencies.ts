import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { RefusalLog } from './refusals';

/** What the receiver's routes use; built by startReceiverServer (http-server.ts) for main.ts and the tests. */
export interface ReceiverDependencies {
  config: Config;
  temporal: Client;
  /** Inside a request, `orm.em` is that request's own fork (see the request context in app.ts). */
  orm: MikroORM;
  logger: Logger;
  /** counts refused webhook requests and limits them per address (see refusals.ts) */
  refusals: RefusalLog;
}
