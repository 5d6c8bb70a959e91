/**
 * The Calendly account a script works on: the environment's (CALENDLY_API_TOKEN, as always), or with
 * `--connection <id>` one OAuth connection's: its own client (tokens refreshed as needed), its callback URL
 * (API_URL + /calendly/webhook/<id>) and its signing key.
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyAccounts, type CalendlyAccount } from '../../activities/calendly-accounts';
import { calendlyClientFrom } from '../../src/calendly/api-client';
import type { Config } from '../../src/config';
import { ConnectionUnavailableError } from '../../src/connections/connection-tokens';
import { connectionServicesFrom } from '../../src/connections/services';
import { ormConfig } from '../../src/database/orm-config';
import { subscriptionTargetOf } from '../../src/subscriptions/inspection';
import { UsageError } from './cli';

export const CONNECTION_OPTION = { connection: { type: 'string' } } as const;

export const CONNECTION_USAGE = `  --connection <id>  work on this OAuth connection (its id: GET /api/connection) instead of CALENDLY_API_TOKEN`;

export interface ScriptAccount extends CalendlyAccount {
  /** Releases what the account holds (the database pool of a connection's tokens). */
  close: () => Promise<void>;
}

export async function scriptAccount(config: Config, connectionId: string | undefined): Promise<ScriptAccount> {
  if (connectionId === undefined) {
    return { calendly: calendlyClientFrom(config), target: subscriptionTargetOf(config), close: () => Promise.resolve() };
  }
  const orm = await MikroORM.init(ormConfig(config.databaseUrl));
  const services = connectionServicesFrom(config, orm);
  try {
    if (!services) throw new UsageError('--connection needs OAuth connections configured: set CALENDLY_CLIENT_ID, CALENDLY_CLIENT_SECRET, CALENDLY_OAUTH_REDIRECT_URI and CONNECTION_ENCRYPTION_KEY');
    const account = await new CalendlyAccounts({ connections: { services, orm } }).of(connectionId);
    return { ...account, close: () => orm.close() };
  } catch (error) {
    await orm.close();
    if (error instanceof ConnectionUnavailableError) throw new UsageError(`--connection: ${error.message}`);
    throw error;
  }
}
