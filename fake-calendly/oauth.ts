/**
 * Calendly's OAuth 2.1 authorization server (auth.calendly.com) for one app: authorization codes with PKCE (S256),
 * access tokens that expire (2 hours), single-use rotating refresh tokens, revoke and introspect. Errors follow
 * RFC 6749 §4.1.2.1 and §5.2 (`{error, error_description}`); Calendly documents the same endpoints
 * (https://developer.calendly.com/api-docs: "get oauth authorize", "post oauth token", "post oauth revoke",
 * "post oauth introspect").
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CalendlyStore } from './store';
import type { GrantSummary, OAuthAppOptions, OAuthStats } from './types';

/** Calendly: "The authorization code expires after 10 minutes". */
const CODE_LIFETIME_MS = 10 * 60_000;
/** Calendly: "Access tokens expire after 2 hours". */
const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 7200;
const DEFAULT_SCOPE = 'default';
const PKCE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** An OAuth error answer: `status` with `{error, error_description}`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
  }

  get body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);
const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description);

/** An authorize request whose client and redirect URI were checked: from here on, errors go back by redirect. */
export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  responseType: string | null;
  state: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  scope: string;
}

/** Client credentials from the form or from HTTP Basic (RFC 6749 §2.3.1: form-encoded id and secret). */
export interface ClientCredentials {
  clientId: string | null;
  clientSecret: string | null;
  basic: boolean;
}

interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  userUri: string;
  scope: string;
  expiresAt: number;
  used: boolean;
  /** The grant its exchange created: revoked if the code is presented again (RFC 6749 §4.1.2). */
  grantId: string | null;
}

interface Grant {
  id: string;
  owner: string;
  organization: string;
  scope: string;
  createdAt: string;
  revokedAt: string | null;
  refreshes: number;
}

interface AccessToken {
  grantId: string;
  issuedAt: number;
  expiresAt: number;
}

interface RefreshToken {
  grantId: string;
  issuedAt: number;
  used: boolean;
}

export interface TokenAnswer {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  created_at: number;
  owner: string;
  organization: string;
}

export type IntrospectAnswer =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      token_type: 'Bearer' | 'refresh_token';
      exp?: number;
      iat: number;
      owner: string;
      organization: string;
    };

const newToken = () => randomBytes(32).toString('base64url');
const seconds = (millis: number) => Math.floor(millis / 1000);
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export class OAuthServer {
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly grants = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private accessTokenLifetimeSeconds: number;
  private tokenRequests = 0;

  constructor(
    private readonly store: CalendlyStore,
    private readonly app: OAuthAppOptions,
  ) {
    this.accessTokenLifetimeSeconds = app.accessTokenLifetimeSeconds ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS;
  }

  get webhookSigningKey(): string | null {
    return this.app.webhookSigningKey ?? null;
  }

  /** Checks what must not be redirected to: an unknown client or a redirect URI it did not register. */
  authorizeRequest(params: URLSearchParams): AuthorizeRequest {
    const clientId = params.get('client_id');
    if (!clientId) throw invalidRequest('client_id is missing');
    if (clientId !== this.app.clientId) throw new OAuthError(400, 'invalid_client', 'unknown client_id');
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri) throw invalidRequest('redirect_uri is missing');
    if (!this.app.redirectUris.includes(redirectUri)) {
      throw invalidRequest('redirect_uri does not match a redirect URI registered for the application');
    }
    return {
      clientId,
      redirectUri,
      responseType: params.get('response_type'),
      state: params.get('state'),
      codeChallenge: params.get('code_challenge') || null,
      codeChallengeMethod: params.get('code_challenge_method') || null,
      scope: params.get('scope') || (this.app.scope ?? DEFAULT_SCOPE),
    };
  }

  /** The redirect after the user's choice: `?code=…&state=…`, or `?error=…` (access_denied when `userUri` is null). */
  decide(request: AuthorizeRequest, userUri: string | null): string {
    const problem = this.requestProblem(request);
    if (problem) return this.redirect(request, problem);
    if (userUri === null) return this.redirect(request, { error: 'access_denied', error_description: 'the user denied access' });
    const user = this.store.user(userUri);
    const code = newToken();
    this.codes.set(code, {
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      userUri: user.uri,
      scope: request.scope,
      expiresAt: Date.now() + CODE_LIFETIME_MS,
      used: false,
      grantId: null,
    });
    return this.redirect(request, { code });
  }

  token(form: URLSearchParams, client: ClientCredentials): TokenAnswer {
    this.tokenRequests += 1;
    this.authenticate(client, 401);
    const grantType = form.get('grant_type');
    if (!grantType) throw invalidRequest('grant_type is missing');
    if (grantType === 'authorization_code') return this.exchangeCode(form);
    if (grantType === 'refresh_token') return this.refresh(form);
    throw new OAuthError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
  }

  /**
   * RFC 7009: an unknown or dead token is not an error, and changes nothing (a refresh token already spent on a
   * refresh is dead). Revoking either live token of a grant ends the whole grant.
   */
  revoke(form: URLSearchParams, client: ClientCredentials): void {
    this.authenticate(client, 403);
    const token = form.get('token');
    if (!token) throw invalidRequest('token is missing');
    const refresh = this.refreshTokens.get(token);
    const grantId = this.accessTokens.get(token)?.grantId ?? (refresh && !refresh.used ? refresh.grantId : undefined);
    if (grantId !== undefined) this.endGrant(grantId);
  }

  introspect(form: URLSearchParams, client: ClientCredentials): IntrospectAnswer {
    this.authenticate(client, 403);
    const token = form.get('token');
    if (!token) throw invalidRequest('token is missing');
    const access = this.accessTokens.get(token);
    const refresh = this.refreshTokens.get(token);
    const grant = this.liveGrant(access?.grantId ?? refresh?.grantId);
    if (!grant || (access && access.expiresAt <= Date.now()) || refresh?.used) return { active: false };
    const common = { scope: grant.scope, client_id: this.app.clientId, owner: grant.owner, organization: grant.organization };
    return access
      ? { active: true, ...common, token_type: 'Bearer', exp: seconds(access.expiresAt), iat: seconds(access.issuedAt) }
      : { active: true, ...common, token_type: 'refresh_token', iat: seconds(refresh?.issuedAt ?? 0) };
  }

  /** The user an access token acts for; `expired` or `invalid` (unknown or revoked) otherwise. */
  accessTokenOwner(token: string): { userUri: string } | 'expired' | 'invalid' {
    const access = this.accessTokens.get(token);
    if (!access) return 'invalid';
    const grant = this.liveGrant(access.grantId);
    if (!grant) return 'invalid';
    if (access.expiresAt <= Date.now()) return 'expired';
    return { userUri: grant.owner };
  }

  setAccessTokenLifetime(lifetimeSeconds: number): void {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) throw new RangeError('seconds must be a positive integer');
    this.accessTokenLifetimeSeconds = lifetimeSeconds;
  }

  /** As if the access tokens already issued (to `userUri`'s grants, or all) had reached their expiry. */
  expireAccessTokens(userUri?: string): number {
    let expired = 0;
    for (const access of this.accessTokens.values()) {
      const grant = this.liveGrant(access.grantId);
      if (!grant || (userUri !== undefined && grant.owner !== userUri) || access.expiresAt <= Date.now()) continue;
      access.expiresAt = Date.now();
      expired += 1;
    }
    return expired;
  }

  /** As when the user disconnects the app in Calendly: every grant they gave stops working. */
  revokeGrants(userUri: string): number {
    const live = [...this.grants.values()].filter((grant) => grant.owner === userUri && grant.revokedAt === null);
    for (const grant of live) this.endGrant(grant.id);
    return live.length;
  }

  stats(): OAuthStats {
    const grants: GrantSummary[] = [...this.grants.values()].map((grant) => ({ ...grant }));
    const refreshesByOwner: Record<string, number> = {};
    for (const grant of grants) refreshesByOwner[grant.owner] = (refreshesByOwner[grant.owner] ?? 0) + grant.refreshes;
    return { tokenRequests: this.tokenRequests, refreshesByOwner, grants };
  }

  private requestProblem(request: AuthorizeRequest): { error: string; error_description: string } | undefined {
    if (request.responseType !== 'code') {
      return { error: 'unsupported_response_type', error_description: 'response_type must be code' };
    }
    if (request.codeChallengeMethod !== null && request.codeChallengeMethod !== 'S256') {
      return { error: 'invalid_request', error_description: 'code_challenge_method must be S256' };
    }
    if ((request.codeChallenge === null) !== (request.codeChallengeMethod === null)) {
      return { error: 'invalid_request', error_description: 'code_challenge and code_challenge_method go together' };
    }
    return undefined;
  }

  private redirect(request: AuthorizeRequest, params: Record<string, string>): string {
    const url = new URL(request.redirectUri);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    if (request.state !== null) url.searchParams.set('state', request.state);
    return url.toString();
  }

  private authenticate(client: ClientCredentials, status: 401 | 403): void {
    if (client.clientId === this.app.clientId && client.clientSecret === this.app.clientSecret) return;
    throw new OAuthError(status, 'invalid_client', 'client authentication failed');
  }

  private exchangeCode(form: URLSearchParams): TokenAnswer {
    const codeText = form.get('code');
    if (!codeText) throw invalidRequest('code is missing');
    const redirectUri = form.get('redirect_uri');
    if (!redirectUri) throw invalidRequest('redirect_uri is missing');
    const code = this.codes.get(codeText);
    if (!code) throw invalidGrant('the authorization code is invalid');
    if (code.used) {
      if (code.grantId !== null) this.endGrant(code.grantId);
      throw invalidGrant('the authorization code has already been used');
    }
    if (code.expiresAt <= Date.now()) throw invalidGrant('the authorization code has expired');
    if (code.redirectUri !== redirectUri) throw invalidGrant('redirect_uri does not match the authorization request');
    if (code.codeChallenge !== null) {
      const verifier = form.get('code_verifier');
      if (!verifier) throw invalidRequest('code_verifier is missing');
      if (!PKCE_VERIFIER.test(verifier) || s256(verifier) !== code.codeChallenge) {
        throw invalidGrant('code_verifier does not match the code_challenge');
      }
    }
    code.used = true;
    const user = this.store.user(code.userUri);
    const grant: Grant = {
      id: newToken(),
      owner: user.uri,
      organization: user.current_organization,
      scope: code.scope,
      createdAt: new Date().toISOString(),
      revokedAt: null,
      refreshes: 0,
    };
    this.grants.set(grant.id, grant);
    code.grantId = grant.id;
    return this.issue(grant);
  }

  private refresh(form: URLSearchParams): TokenAnswer {
    const tokenText = form.get('refresh_token');
    if (!tokenText) throw invalidRequest('refresh_token is missing');
    const refresh = this.refreshTokens.get(tokenText);
    const grant = this.liveGrant(refresh?.grantId);
    if (!refresh || !grant) throw invalidGrant('the refresh token is invalid or revoked');
    if (refresh.used) throw invalidGrant('the refresh token has already been used');
    refresh.used = true;
    grant.refreshes += 1;
    return this.issue(grant);
  }

  private issue(grant: Grant): TokenAnswer {
    const now = Date.now();
    const accessToken = newToken();
    const refreshToken = newToken();
    this.accessTokens.set(accessToken, {
      grantId: grant.id,
      issuedAt: now,
      expiresAt: now + this.accessTokenLifetimeSeconds * 1000,
    });
    this.refreshTokens.set(refreshToken, { grantId: grant.id, issuedAt: now, used: false });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.accessTokenLifetimeSeconds,
      refresh_token: refreshToken,
      scope: grant.scope,
      created_at: seconds(now),
      owner: grant.owner,
      organization: grant.organization,
    };
  }

  private liveGrant(grantId: string | undefined): Grant | undefined {
    const grant = grantId === undefined ? undefined : this.grants.get(grantId);
    return grant && grant.revokedAt === null ? grant : undefined;
  }

  private endGrant(grantId: string): void {
    const grant = this.grants.get(grantId);
    if (grant && grant.revokedAt === null) grant.revokedAt = new Date().toISOString();
  }
}
