/**
 * Connecting an organization's Calendly account: the authorization code flow with PKCE (RFC 9700). Starting records
 * the flow in PostgreSQL and seals its id, the organization, the PKCE verifier and its expiry into the `state`, so any
 * receiver process can finish a flow another one started. Completing needs the API token of the organization that
 * started it (the redirect only hands `code` and `state` to the dashboard, which posts them with its token): a
 * consent completed in anyone else's browser connects nothing. Each flow exchanges its code at most once; a grant
 * that would replace the connection's Calendly organization by another waits in the flow for a confirmation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { CalendlyApiError } from '../calendly/api-client';
import { authorizeUrl, exchangeCode, OAuthError, pkcePair, revokeToken, type OAuthApp, type OAuthTokens } from '../calendly/oauth-client';
import {
  awaitConfirmation,
  claimCodeExchange,
  completeConnectFlow,
  CONNECT_STATE_PLACE,
  grantAwaitingConfirmation,
  recordConnectFlow,
  waitingGrantPlace,
} from '../database/connect-flows';
import {
  CalendlyOrganizationTakenError,
  calendlyOrganizationTakenByOther,
  connectionOfOrganization,
  connectionSecretPlace,
  forgetTokens,
  lockConnection,
  markConnectionStatus,
  saveAuthorizedConnection,
  type Connection,
  type SealedConnectionColumn,
} from '../database/connections';
import { ConnectionUnavailableError, type ConnectionTokens } from './connection-tokens';
import type { SecretBox } from './secret-box';

/** How long a started flow may take before its completion is refused: Calendly's code itself lasts 10 minutes. */
const STATE_TTL_MS = 10 * 60_000;

/** Why a flow cannot complete (the code the completion answers; the route gives each its HTTP status). */
export type ConnectRefusal =
  | 'invalid_state'
  | 'state_expired'
  | 'state_used'
  | 'authorization_refused'
  | 'consent_of_another_organization'
  | 'calendly_organization_taken'
  | 'confirm_replace_calendly_organization';

/** A flow that cannot complete, with the code the completion answers. */
export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(
    readonly code: ConnectRefusal,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface SealedState {
  flow: string;
  organization: string;
  verifier: string;
  expiresAt: number;
}

/** The grant of an exchanged code, as a flow keeps it while it waits for a confirmation. */
type Grant = Omit<OAuthTokens, 'expiresAt'> & { expiresAt: string };

export interface OAuthConnectOptions {
  orm: MikroORM;
  app: OAuthApp;
  box: SecretBox;
  /** to delete the subscription of a Calendly organization being replaced, with its own tokens */
  tokens: ConnectionTokens;
}

export class OAuthConnect {
  constructor(private readonly options: OAuthConnectOptions) {}

  /** The URL to send the organization's admin to; it comes back to the redirect URI with a code. */
  async start(organization: string, now = Date.now()): Promise<{ authorizeUrl: string; expiresAt: string }> {
    const { verifier, challenge } = pkcePair();
    const flow = randomUUID();
    const expiresAt = now + STATE_TTL_MS;
    await recordConnectFlow(this.options.orm.em.fork(), { id: flow, organization, expiresAt: new Date(expiresAt) });
    const state = this.options.box.seal(JSON.stringify({ flow, organization, verifier, expiresAt } satisfies SealedState), CONNECT_STATE_PLACE);
    return { authorizeUrl: authorizeUrl(this.options.app, state, challenge), expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * Completes the flow for `organization` (the caller's, from its API token): exchanges the code once and stores the
   * connection (a reconnect keeps the organization's connection and data). Replacing the connection's Calendly
   * organization by another needs `confirm`; without it the grant waits in the flow and a 409 says what would change.
   */
  async complete(organization: string, state: string, code: string, confirm: boolean, now = Date.now()): Promise<Connection> {
    const sealed = this.openState(state, now);
    if (sealed.organization !== organization) {
      throw new ConnectError(
        'consent_of_another_organization',
        'This Calendly consent was started by another organization, so nothing was connected: only the organization that clicked Connect can complete it',
      );
    }
    const em = this.options.orm.em.fork();
    const waiting = await grantAwaitingConfirmation(em, sealed.flow, organization);
    const opened = waiting && this.openOrNothing(waiting, waitingGrantPlace(sealed.flow));
    if (waiting && !opened) throw new ConnectError('invalid_state', "This consent's waiting grant cannot be read: start connecting again");
    const grant = opened ? (JSON.parse(opened) as Grant) : await this.exchange(sealed, code);
    const tokens = { ...grant, expiresAt: new Date(grant.expiresAt) };

    if (await calendlyOrganizationTakenByOther(em, tokens.organization, organization)) {
      await completeConnectFlow(em, sealed.flow);
      await this.revoke(tokens.refreshToken);
      throw takenError();
    }
    const current = await connectionOfOrganization(em, organization);
    // The personal token connection moves to OAuth (saveAuthorizedConnection takes it over) for its own Calendly
    // organization only: another would replace a subscription that only CALENDLY_API_TOKEN can delete.
    if (current?.kind === 'personal_token' && current.calendlyOrganization !== tokens.organization) {
      await completeConnectFlow(em, sealed.flow);
      await this.revoke(tokens.refreshToken);
      throw new ConnectError(
        'calendly_organization_taken',
        "This organization is connected with CALENDLY_API_TOKEN to another Calendly organization: only that one can be connected through OAuth in its place",
      );
    }
    const replaced = current?.calendlyOrganization && current.calendlyOrganization !== tokens.organization ? current : undefined;
    if (replaced && !confirm) {
      await awaitConfirmation(em, sealed.flow, this.options.box.seal(JSON.stringify(grant), waitingGrantPlace(sealed.flow)));
      throw new ConnectError(
        'confirm_replace_calendly_organization',
        'This connection receives the bookings of another Calendly organization: complete again with "confirm": true to replace it (its webhook subscription is deleted)',
        {
          current: { calendlyOrganization: replaced.calendlyOrganization, calendlyUser: replaced.calendlyUser },
          replacement: { calendlyOrganization: tokens.organization, calendlyUser: tokens.owner },
        },
      );
    }
    if (!(await completeConnectFlow(em, sealed.flow))) throw usedError();
    if (replaced) await this.retireCalendlyOrganization(replaced);

    const { box } = this.options;
    const place = (column: SealedConnectionColumn) => connectionSecretPlace(column, organization);
    // Sealed again for its new column (were it moved as it is, a copied live key there would open and make the
    // connection's URL answer 410 Gone).
    const retiredKey = replaced && this.openOrNothing(replaced.signingKey, place('signing_key'));
    try {
      return await saveAuthorizedConnection(em, {
        organization,
        calendlyOrganization: tokens.organization,
        calendlyUser: tokens.owner,
        scope: tokens.scope,
        accessToken: box.seal(tokens.accessToken, place('access_token')),
        refreshToken: box.seal(tokens.refreshToken, place('refresh_token')),
        tokenExpiresAt: tokens.expiresAt,
        signingKey: box.seal(randomBytes(32).toString('hex'), place('signing_key')),
        newSigningKey: replaced !== undefined,
        retiredSigningKey: retiredKey === undefined ? null : box.seal(retiredKey, place('retired_signing_key')),
      });
    } catch (error) {
      if (!(error instanceof CalendlyOrganizationTakenError)) throw error;
      await this.revoke(tokens.refreshToken);
      throw takenError();
    }
  }

  /**
   * Marks it disconnected and forgets its tokens, then revokes at Calendly the refresh token it held at that moment
   * (the row locked meanwhile: a refresh during the teardown may have replaced the one read before). Data is kept: a
   * reconnect finds it. The caller deletes the webhook subscription first, while the token still works.
   */
  async disconnect(connectionId: string, reason: string): Promise<void> {
    const { orm } = this.options;
    const held = await orm.em.fork().transactional(async (tx) => {
      const locked = await lockConnection(tx, connectionId);
      await markConnectionStatus(tx, connectionId, 'disconnected', reason);
      await forgetTokens(tx, connectionId);
      return locked?.refreshToken && this.openOrNothing(locked.refreshToken, connectionSecretPlace('refresh_token', locked.organization));
    });
    // Revoking the refresh token ends the grant; a failure here leaves a token nobody holds any more.
    if (held) await this.revoke(held);
  }

  async connectionOf(organization: string): Promise<Connection | undefined> {
    return connectionOfOrganization(this.options.orm.em.fork(), organization);
  }

  /** The flow's one code exchange; a second completion of the same consent finds it taken. */
  private async exchange(sealed: SealedState, code: string): Promise<Grant> {
    if (!(await claimCodeExchange(this.options.orm.em.fork(), sealed.flow, sealed.organization))) throw usedError();
    try {
      const tokens = await exchangeCode(this.options.app, code, sealed.verifier);
      return { ...tokens, expiresAt: tokens.expiresAt.toISOString() };
    } catch (error) {
      if (error instanceof OAuthError && error.permanent) {
        throw new ConnectError('authorization_refused', `Calendly refused the authorization code (${error.code}): start connecting again`);
      }
      throw error;
    }
  }

  /**
   * Before another Calendly organization takes its place: its subscription deleted with its own token (else it would
   * keep posting to this connection's URL) and its grant revoked. A dead token can do neither: Calendly then stops
   * by itself, and the new signing key refuses what it still sends.
   */
  private async retireCalendlyOrganization(replaced: Connection): Promise<void> {
    if (replaced.status === 'connected' && replaced.webhookSubscriptionUri) {
      try {
        await this.options.tokens.clientFor(replaced.id, replaced.organization).deleteWebhookSubscription(replaced.webhookSubscriptionUri);
      } catch (error) {
        if (!(error instanceof CalendlyApiError) && !(error instanceof ConnectionUnavailableError)) throw error;
      }
    }
    const held = await connectionOfOrganization(this.options.orm.em.fork(), replaced.organization);
    const refreshToken = held?.refreshToken && this.openOrNothing(held.refreshToken, connectionSecretPlace('refresh_token', held.organization));
    if (refreshToken) await this.revoke(refreshToken);
  }

  /** A secret that does not open (sealed for another row or column, or changed) is not this connection's: none. */
  private openOrNothing(sealed: string | null, place: string): string | undefined {
    if (!sealed) return undefined;
    try {
      return this.options.box.open(sealed, place);
    } catch {
      return undefined;
    }
  }

  private async revoke(refreshToken: string): Promise<void> {
    await revokeToken(this.options.app, refreshToken).catch(() => undefined);
  }

  private openState(state: string, now: number): SealedState {
    let sealed: SealedState;
    try {
      sealed = JSON.parse(this.options.box.open(state, CONNECT_STATE_PLACE)) as SealedState;
    } catch {
      throw new ConnectError('invalid_state', 'The state parameter is not one this system issued: start connecting again');
    }
    if (typeof sealed.flow !== 'string') throw new ConnectError('invalid_state', 'The state parameter is not one this system issued: start connecting again');
    if (!(sealed.expiresAt > now)) throw new ConnectError('state_expired', 'The connect flow took too long: start connecting again');
    return sealed;
  }
}

function usedError(): ConnectError {
  return new ConnectError('state_used', 'This Calendly consent was already used (each one completes once): start connecting again');
}

function takenError(): ConnectError {
  return new ConnectError('calendly_organization_taken', 'This Calendly organization is already connected to another organization');
}
