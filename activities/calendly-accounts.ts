/**
 * The Calendly account an activity works for: one connection, whatever its kind, with the client, the organization
 * its bookings belong to, and where its subscription points. A connection of kind `personal_token` (CALENDLY_API_TOKEN)
 * uses the environment's token and signing key; an OAuth connection its own, stored sealed (also the personal token
 * connection's row once OAuth took it over).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import { ConnectionUnavailableError } from '../src/connections/connection-tokens';
import { ensurePersonalTokenConnection } from '../src/connections/personal-token';
import type { ConnectionServices } from '../src/connections/services';
import { connectionSecretPlace, findConnection, type Connection } from '../src/database/connections';
import type { SubscriptionTarget } from '../src/subscriptions/inspection';
import { PERSONAL_TOKEN_CONNECTION_ID, recordedConnectionId } from '../src/workflow-ids';

export interface CalendlyAccount {
  calendly: CalendlyApiClient;
  target: SubscriptionTarget;
  /** the organization of ours its bookings belong to */
  organization: string;
  connectionId: string;
}

export interface CalendlyAccountsOptions {
  orm: MikroORM;
  /** the personal token connection's client and subscription target, when CALENDLY_API_TOKEN is set */
  personalToken?: { calendly: CalendlyApiClient; target: SubscriptionTarget };
  /** when OAuth is configured */
  oauth?: ConnectionServices;
}

export class CalendlyAccounts {
  constructor(private readonly options: CalendlyAccountsOptions) {}

  /** The organization of the connection's bookings. */
  async organizationOfConnection(connectionId: string): Promise<string> {
    return (await this.of(connectionId)).organization;
  }

  /** A workflow recorded before every account was a connection names none: it means the personal token connection. */
  async of(recordedId: string | null | undefined): Promise<CalendlyAccount> {
    const connectionId = recordedConnectionId(recordedId);
    const { orm, personalToken, oauth } = this.options;
    let connection = await findConnection(orm.em.fork(), connectionId);
    // By its kind, not its id: the personal token connection's row becomes OAuth's when its organization connects so.
    if (!connection && connectionId === PERSONAL_TOKEN_CONNECTION_ID) {
      if (!personalToken) throw new ConnectionUnavailableError('no CALENDLY_API_TOKEN is configured: this deployment serves OAuth connections only');
      // Created at start-up; when Calendly did not answer then, by the first activity that needs it.
      connection = await ensurePersonalTokenConnection(orm, personalToken.calendly);
    }
    if (connection?.kind === 'personal_token') {
      if (!personalToken) throw new ConnectionUnavailableError('no CALENDLY_API_TOKEN is configured: this deployment serves OAuth connections only');
      return { ...personalToken, organization: connection.organization, connectionId };
    }
    if (!oauth) throw new ConnectionUnavailableError(`connection ${connectionId}: OAuth is not configured (CALENDLY_CLIENT_ID)`);
    if (!connection) throw new ConnectionUnavailableError(`connection ${connectionId} does not exist`);
    return {
      calendly: oauth.tokens.clientFor(connectionId, connection.organization),
      target: { callbackUrl: `${oauth.webhookUrl}/${connectionId}`, signingKey: signingKeyOf(oauth, connection) },
      organization: connection.organization,
      connectionId,
    };
  }
}

/** A key that does not open (sealed for another row or column, or changed) fails the activity for good: no retry fixes it. */
function signingKeyOf(services: ConnectionServices, connection: Connection): string {
  try {
    return services.box.open(connection.signingKey ?? '', connectionSecretPlace('signing_key', connection.organization));
  } catch {
    throw new ConnectionUnavailableError(`connection ${connection.id}: its stored signing key does not open (sealed for another connection, or changed)`);
  }
}
