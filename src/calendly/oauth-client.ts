/**
 * Calendly's OAuth 2.1 endpoints on its auth host (https://developer.calendly.com: "post oauth token", "post oauth
 * revoke"): the authorize URL with PKCE, the code exchange and the refresh, which rotates the refresh token.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  authBaseUrl: string;
}

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive(),
  scope: z.string().optional(),
  created_at: z.number().optional(),
  owner: z.string().url(),
  organization: z.string().url(),
});

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  scope: string | null;
  /** the Calendly user who authorized */
  owner: string;
  organization: string;
}

/** An OAuth error answer (RFC 6749 §5.2). `invalid_grant` means the code or refresh token is dead: only a person can fix it. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
  ) {
    super(`Calendly OAuth ${status} ${code}${description ? `: ${description}` : ''}`);
  }

  /** The grant is gone (revoked, used, expired) or the app is refused: retrying cannot help. */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429;
  }
}

/** A PKCE verifier (RFC 7636: 43-128 characters) and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeUrl(app: OAuthApp, state: string, codeChallenge: string): string {
  const url = new URL('/oauth/authorize', app.authBaseUrl);
  url.search = new URLSearchParams({
    client_id: app.clientId,
    response_type: 'code',
    redirect_uri: app.redirectUri,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
  }).toString();
  return url.toString();
}

export function exchangeCode(app: OAuthApp, code: string, codeVerifier: string): Promise<OAuthTokens> {
  return tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: codeVerifier });
}

/** The refresh token used is dead once this returns: store the new one before anything else. */
export function refreshTokens(app: OAuthApp, refreshToken: string): Promise<OAuthTokens> {
  return tokenRequest(app, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export async function revokeToken(app: OAuthApp, token: string): Promise<void> {
  await post(app, '/oauth/revoke', { token });
}

async function tokenRequest(app: OAuthApp, form: Record<string, string>): Promise<OAuthTokens> {
  const requestedAt = Date.now();
  const parsed = tokenResponseSchema.safeParse(await post(app, '/oauth/token', form));
  if (!parsed.success) throw new OAuthError(502, 'invalid_response', 'the token answer did not have the documented shape');
  const answer = parsed.data;
  return {
    accessToken: answer.access_token,
    refreshToken: answer.refresh_token,
    expiresAt: new Date(requestedAt + answer.expires_in * 1000),
    scope: answer.scope ?? null,
    owner: answer.owner,
    organization: answer.organization,
  };
}

async function post(app: OAuthApp, path: string, form: Record<string, string>): Promise<unknown> {
  const response = await fetch(new URL(path, app.authBaseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ ...form, client_id: app.clientId, client_secret: app.clientSecret }).toString(),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let body: { error?: unknown; error_description?: unknown } | undefined;
  try {
    body = text ? (JSON.parse(text) as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const code = typeof body?.error === 'string' ? body.error : 'http_error';
    throw new OAuthError(response.status, code, typeof body?.error_description === 'string' ? body.error_description.slice(0, 200) : '');
  }
  return body;
}
