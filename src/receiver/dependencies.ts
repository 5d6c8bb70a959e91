import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { ApiTokens } from '../auth/api-tokens';
import type { Config } from '../config';
import type { ConnectionServices } from '../connections/services';
import type { Logger } from '../logger';
import type { RefusalLog } from './refusals';

/** What the receiver's routes use; built by startReceiverServer (http-server.ts) for main.ts and the tests. */
export interface ReceiverDependencies {
  config: Config;
  temporal: Client;
  /** Inside a request, `orm.em` is that request's own fork (see the request context in app.ts). */
  orm: MikroORM;
  logger: Logger;
  /** API_TOKENS and the tokens issued by `npm run api-tokens`; the broadcaster checks websockets with the same */
  apiTokens: ApiTokens;
  /** counts refused webhook requests and limits them per address (see refusals.ts) */
  refusals: RefusalLog;
  /** OAuth connections (connection-routes.ts); unset when config.oauth is, and those routes answer 404 */
  connections?: ConnectionServices;
}
