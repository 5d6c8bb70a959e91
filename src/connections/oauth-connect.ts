/**
 * Connecting an organization's Calendly account: the authorization code flow with PKCE. The `state` is sealed
 * (AES-256-GCM) and carries the organization, the PKCE verifier and its expiry, so any receiver process can finish a
 * flow another one started, and nobody can bind a Calendly account to an organization that did not ask for it.
 * Calendly accepts a code once; a second callback with it is refused there.
 */
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { authorizeUrl, exchangeCode, OAuthError, pkcePair, revokeToken, type OAuthApp } from '../calendly/oauth-client';
import {
  CalendlyOrganizationTakenError,
  connectionOfOrganization,
  forgetTokens,
  markConnectionStatus,
  saveAuthorizedConnection,
  type Connection,
} from '../database/connections';
import type { SecretBox } from './secret-box';

/** How long a started flow may take before its callback is refused (Calendly's code itself lasts 10 minutes). */
const STATE_TTL_MS = 15 * 60_000;

/** A flow that cannot complete, with the HTTP status and code the callback answers. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface SealedState {
  organization: string;
  verifier: string;
  expiresAt: number;
}

export interface OAuthConnectOptions {
  orm: MikroORM;
  app: OAuthApp;
  box: SecretBox;
}

export class OAuthConnect {
  constructor(private readonly options: OAuthConnectOptions) {}

  /** The URL to send the organization's admin to; it comes back to the redirect URI with a code. */
  start(organization: string, now = Date.now()): { authorizeUrl: string; expiresAt: string } {
    const { verifier, challenge } = pkcePair();
    const expiresAt = now + STATE_TTL_MS;
    const state = this.options.box.seal(JSON.stringify({ organization, verifier, expiresAt } satisfies SealedState));
    return { authorizeUrl: authorizeUrl(this.options.app, state, challenge), expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Exchanges the code and stores the connection (a reconnect keeps the organization's connection and data). */
  async complete(state: string, code: string, now = Date.now()): Promise<Connection> {
    const { organization, verifier } = this.openState(state, now);
    let tokens;
    try {
      tokens = await exchangeCode(this.options.app, code, verifier);
    } catch (error) {
      if (error instanceof OAuthError && error.permanent) {
        throw new ConnectError(400, 'authorization_refused', `Calendly refused the authorization code (${error.code}): start connecting again`);
      }
      throw error;
    }
    const { box, orm } = this.options;
    try {
      return await saveAuthorizedConnection(orm.em.fork(), {
        organization,
        calendlyOrganization: tokens.organization,
        calendlyUser: tokens.owner,
        scope: tokens.scope,
        accessToken: box.seal(tokens.accessToken),
        refreshToken: box.seal(tokens.refreshToken),
        tokenExpiresAt: tokens.expiresAt,
        signingKey: box.seal(randomBytes(32).toString('hex')),
      });
    } catch (error) {
      if (!(error instanceof CalendlyOrganizationTakenError)) throw error;
      await revokeToken(this.options.app, tokens.refreshToken).catch(() => undefined);
      throw new ConnectError(409, 'calendly_organization_taken', 'This Calendly organization is already connected to another organization');
    }
  }

  /**
   * Marks it disconnected, then revokes its token at Calendly and forgets it. Data is kept: a reconnect finds it.
   * The caller deletes the webhook subscription first, while the token still works.
   */
  async disconnect(connection: Connection, reason: string): Promise<void> {
    const { orm, box, app } = this.options;
    const em = orm.em.fork();
    await markConnectionStatus(em, connection.id, 'disconnected', reason);
    if (connection.refreshToken) {
      // Revoking the refresh token ends the grant; a failure here leaves a token nobody holds any more.
      await revokeToken(app, box.open(connection.refreshToken)).catch(() => undefined);
    }
    await forgetTokens(em, connection.id);
  }

  async connectionOf(organization: string): Promise<Connection | undefined> {
    return connectionOfOrganization(this.options.orm.em.fork(), organization);
  }

  private openState(state: string, now: number): SealedState {
    let sealed: SealedState;
    try {
      sealed = JSON.parse(this.options.box.open(state)) as SealedState;
    } catch {
      throw new ConnectError(400, 'invalid_state', 'The state parameter is not one this system issued: start connecting again');
    }
    if (!(sealed.expiresAt > now)) throw new ConnectError(400, 'state_expired', 'The connect flow took too long: start connecting again');
    return sealed;
  }
}
