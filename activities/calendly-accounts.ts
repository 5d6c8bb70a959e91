/**
 * The Calendly account an activity works for: the environment's (CALENDLY_API_TOKEN, single-account mode) or one
 * OAuth connection's, with the client, the organization its bookings belong to, and where its subscription points.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import { ConnectionUnavailableError } from '../src/connections/connection-tokens';
import type { ConnectionServices } from '../src/connections/services';
import { connectionSecretPlace, findConnection, type Connection } from '../src/database/connections';
import type { SubscriptionTarget } from '../src/subscriptions/inspection';

export interface CalendlyAccount {
  calendly: CalendlyApiClient;
  target: SubscriptionTarget;
  /** set for a connection: the organization of ours its bookings belong to */
  organization?: string;
  connectionId?: string;
}

export interface CalendlyAccountsOptions {
  /** the environment's account, when CALENDLY_API_TOKEN is set */
  environment?: { calendly: CalendlyApiClient; target: SubscriptionTarget };
  /** when OAuth is configured: the services, and where connections are stored */
  connections?: { services: ConnectionServices; orm: MikroORM };
}

export class CalendlyAccounts {
  /** The environment's token belongs to one Calendly organization: asked once. A connection's is on its row. */
  private environmentOrganization: Promise<string> | undefined;

  constructor(private readonly options: CalendlyAccountsOptions) {}

  /** The organization whose meetings the account's bookings are. */
  async organizationOf(account: CalendlyAccount): Promise<string> {
    if (account.organization) return account.organization;
    this.environmentOrganization ??= account.calendly.getCurrentUser().then((user) => user.current_organization);
    return this.environmentOrganization.catch((error: unknown) => {
      this.environmentOrganization = undefined;
      throw error;
    });
  }

  /** The organization of the connection's bookings, or of the environment's account (null or absent). */
  async organizationOfConnection(connectionId?: string | null): Promise<string> {
    return this.organizationOf(await this.of(connectionId));
  }

  async of(connectionId?: string | null): Promise<CalendlyAccount> {
    if (!connectionId) {
      if (!this.options.environment) throw new ConnectionUnavailableError('no CALENDLY_API_TOKEN is configured: this deployment serves OAuth connections only');
      return this.options.environment;
    }
    if (!this.options.connections) throw new ConnectionUnavailableError(`connection ${connectionId}: OAuth is not configured (CALENDLY_CLIENT_ID)`);
    const { services, orm } = this.options.connections;
    const connection = await findConnection(orm.em.fork(), connectionId);
    if (!connection) throw new ConnectionUnavailableError(`connection ${connectionId} does not exist`);
    return {
      calendly: services.tokens.clientFor(connectionId, connection.organization),
      target: { callbackUrl: `${services.webhookUrl}/${connectionId}`, signingKey: signingKeyOf(services, connection) },
      organization: connection.organization,
      connectionId,
    };
  }
}

/** A key that does not open (sealed for another row or column, or changed) fails the activity for good: no retry fixes it. */
function signingKeyOf(services: ConnectionServices, connection: Connection): string {
  try {
    return services.box.open(connection.signingKey, connectionSecretPlace('signing_key', connection.organization));
  } catch {
    throw new ConnectionUnavailableError(`connection ${connection.id}: its stored signing key does not open (sealed for another connection, or changed)`);
  }
}
