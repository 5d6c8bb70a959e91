/**
 * A Calendly client per connection, with a valid access token at every call. Access tokens last 2 hours and refresh
 * tokens are single-use: a refresh runs with the connection's row locked (so two workers never spend the same refresh
 * token), and the new pair is committed before the new access token is used. Calendly refusing the token (401) or the
 * refresh marks the connection `needs_reauthorization` at once, and calls fail with ConnectionUnavailableError, which
 * activities turn into a failure that is not retried.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyApiClient } from '../calendly/api-client';
import { OAuthError, refreshTokens, type OAuthApp } from '../calendly/oauth-client';
import { connectionSecretPlace, findConnection, lockConnection, markConnectionStatus, storeTokens, type Connection } from '../database/connections';
import type { SecretBox } from './secret-box';

/** Refreshed this long before it expires, so that a call never starts with a token about to die. */
const REFRESH_MARGIN_MS = 60_000;

/** The connection cannot call Calendly until a person reconnects it (or it was disconnected). */
export class ConnectionUnavailableError extends Error {
  override name = 'ConnectionUnavailableError';
}

export interface ConnectionTokensOptions {
  orm: MikroORM;
  app: OAuthApp;
  box: SecretBox;
  apiBaseUrl: string;
}

export const REAUTHORIZE_HINT = 'reconnect it: POST /api/connection/connect, then open the authorizeUrl';

export class ConnectionTokens {
  constructor(private readonly options: ConnectionTokensOptions) {}

  /** A client whose every request carries a fresh access token of this connection (of `organization`). */
  clientFor(connectionId: string, organization: string): CalendlyApiClient {
    return new CalendlyApiClient({
      baseUrl: this.options.apiBaseUrl,
      organization,
      token: () => this.accessToken(connectionId),
      onUnauthorized: () => this.needsReauthorization(connectionId, 'Calendly refused the access token (401)'),
    });
  }

  async accessToken(connectionId: string): Promise<string> {
    const connection = await findConnection(this.options.orm.em.fork(), connectionId);
    const usable = this.usableToken(connection, connectionId);
    return usable ?? this.refresh(connectionId);
  }

  /** Marks it at once; the reason is shown by the status endpoint and the dashboard. */
  async needsReauthorization(connectionId: string, reason: string): Promise<void> {
    await markConnectionStatus(this.options.orm.em.fork(), connectionId, 'needs_reauthorization', `${reason}: ${REAUTHORIZE_HINT}`);
  }

  private usableToken(connection: Connection | undefined, connectionId: string): string | undefined {
    if (!connection) throw new ConnectionUnavailableError(`connection ${connectionId} does not exist`);
    if (connection.status !== 'connected' || !connection.accessToken || !connection.refreshToken) {
      throw new ConnectionUnavailableError(`connection ${connectionId} is ${connection.status}: ${connection.statusReason ?? REAUTHORIZE_HINT}`);
    }
    if (connection.tokenExpiresAt && connection.tokenExpiresAt.getTime() - Date.now() > REFRESH_MARGIN_MS) {
      // One that does not open (sealed for another row or column) is never used: the refresh replaces it.
      return this.openToken(connection, 'access_token');
    }
    return undefined;
  }

  private openToken(connection: Connection, column: 'access_token' | 'refresh_token'): string | undefined {
    const sealed = column === 'access_token' ? connection.accessToken : connection.refreshToken;
    try {
      return sealed ? this.options.box.open(sealed, connectionSecretPlace(column, connection.organization)) : undefined;
    } catch {
      return undefined;
    }
  }

  private async refresh(connectionId: string): Promise<string> {
    const { orm, app, box } = this.options;
    const refused = await orm.em.fork().transactional(async (tx): Promise<{ token: string } | { refusedBecause: string }> => {
      const locked = await lockConnection(tx, connectionId);
      // Another worker may have refreshed while this one waited for the lock: its token is used as it is.
      const usable = this.usableToken(locked, connectionId);
      if (usable) return { token: usable };
      const refreshToken = this.openToken(locked!, 'refresh_token');
      if (!refreshToken) return { refusedBecause: 'its stored refresh token does not open (sealed for another connection, or changed)' };
      try {
        const tokens = await refreshTokens(app, refreshToken);
        await storeTokens(tx, connectionId, {
          accessToken: box.seal(tokens.accessToken, connectionSecretPlace('access_token', locked!.organization)),
          refreshToken: box.seal(tokens.refreshToken, connectionSecretPlace('refresh_token', locked!.organization)),
          tokenExpiresAt: tokens.expiresAt,
        });
        return { token: tokens.accessToken };
      } catch (error) {
        if (error instanceof OAuthError && error.permanent) return { refusedBecause: `Calendly refused the token refresh (${error.message})` };
        throw error;
      }
    });
    if ('token' in refused) return refused.token;
    await this.needsReauthorization(connectionId, refused.refusedBecause);
    throw new ConnectionUnavailableError(`connection ${connectionId} needs reauthorization: ${refused.refusedBecause}`);
  }
}
