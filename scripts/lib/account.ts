/**
 * The connection a script works on, through the same path as the worker's activities: the personal token
 * connection (CALENDLY_API_TOKEN, its callback URL API_URL + /calendly/webhook and CALENDLY_WEBHOOK_SIGNING_KEY) unless
 * `--connection <id>` names another, e.g. an OAuth connection (its own client, tokens refreshed as needed, its
 * callback URL API_URL + /calendly/webhook/<id> and its signing key).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyAccounts, type CalendlyAccount } from '../../activities/calendly-accounts';
import { calendlyClientFrom } from '../../src/calendly/api-client';
import type { Config } from '../../src/config';
import { ConnectionUnavailableError } from '../../src/connections/connection-tokens';
import { connectionServicesFrom } from '../../src/connections/services';
import { ormConfig } from '../../src/database/orm-config';
import { subscriptionTargetOf } from '../../src/subscriptions/inspection';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { UsageError } from './cli';

export const CONNECTION_OPTION = { connection: { type: 'string' } } as const;

export const CONNECTION_USAGE = `  --connection <id>  work on this connection (its id: GET /api/connection); default: CALENDLY_API_TOKEN's (${PERSONAL_TOKEN_CONNECTION_ID})`;

export interface ScriptAccount extends CalendlyAccount {
  /** the database, for what the script stores itself (a sync's routing form submissions) */
  orm: MikroORM;
  /** Releases what the account holds (its database pool). */
  close: () => Promise<void>;
}

export async function scriptAccount(config: Config, connectionId = PERSONAL_TOKEN_CONNECTION_ID): Promise<ScriptAccount> {
  const orm = await MikroORM.init(ormConfig(config.databaseUrl));
  try {
    const personalToken = config.calendly.apiToken ? { calendly: calendlyClientFrom(config), target: subscriptionTargetOf(config) } : undefined;
    const account = await new CalendlyAccounts({ orm, personalToken, oauth: connectionServicesFrom(config, orm) }).of(connectionId);
    return { ...account, orm, close: () => orm.close() };
  } catch (error) {
    await orm.close();
    if (error instanceof ConnectionUnavailableError) {
      throw new UsageError(connectionId === PERSONAL_TOKEN_CONNECTION_ID ? `${error.message}; pass --connection <id>` : `--connection: ${error.message}`);
    }
    throw error;
  }
}
