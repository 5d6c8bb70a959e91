import { createHash, randomBytes } from 'node:crypto';
import { apiErrorSchema, resourceOf, userSchema } from '../../src/calendly/schemas';
import { OAuthError, startFakeCalendly, type FakeCalendly, type OAuthAppOptions } from '../../fake-calendly';
import { call } from './helpers';

const APP: OAuthAppOptions = {
  clientId: 'fake-client-id',
  clientSecret: 'fake-client-secret',
  redirectUris: ['http://127.0.0.1:3000/calendly/oauth/callback'],
};
const REDIRECT_URI = APP.redirectUris[0];

let fake: FakeCalendly;

beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: 'personal-token', oauth: APP });
});

afterEach(async () => {
  await fake.close();
});

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(challenge: string, overrides: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    client_id: APP.clientId,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    ...overrides,
  });
  return `${fake.url}/oauth/authorize?${params.toString()}`;
}

interface FormAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** POSTs a form to the fake's auth endpoints; client credentials in the form unless `basic` is set. */
async function postForm(
  path: string,
  form: Record<string, string>,
  { basic = false, secret = APP.clientSecret }: { basic?: boolean; secret?: string } = {},
): Promise<FormAnswer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const fields = { ...form };
  if (basic) headers.Authorization = `Basic ${Buffer.from(`${APP.clientId}:${secret}`).toString('base64')}`;
  else Object.assign(fields, { client_id: APP.clientId, client_secret: secret });
  const response = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Authorizes `userUri` in-process and exchanges the code: the tokens a connected app holds. */
async function connect(userUri: string): Promise<{ access_token: string; refresh_token: string }> {
  const { verifier, challenge } = pkcePair();
  const code = new URL(fake.authorize(authorizeUrl(challenge), userUri)).searchParams.get('code') ?? '';
  const answer = await postForm('/oauth/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
  expect(answer.status).toBe(200);
  return answer.body as { access_token: string; refresh_token: string };
}

const refresh = (refreshToken: string) => postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken });

describe('authorization code flow with PKCE', () => {
  it('shows a consent page per user, redirects with code and state, and exchanges the code once for tokens', async () => {
    const other = fake.createOrganization({ owner: { name: 'Blake Other', email: 'blake@other.example' } });
    const { verifier, challenge } = pkcePair();

    const page = await fetch(authorizeUrl(challenge));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain(fake.userUri);
    expect(html).toContain(other.owner.uri);
    expect(html).toContain('Allow');

    // What the browser sends when Blake clicks "Allow" on that page.
    const allow = await fetch(`${fake.url}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        ...Object.fromEntries(new URL(authorizeUrl(challenge)).searchParams),
        user: other.owner.uri,
        decision: 'allow',
      }).toString(),
    });
    expect(allow.status).toBe(302);
    const location = new URL(allow.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('state')).toBe('state-123');
    const code = location.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const tokens = await postForm('/oauth/token', exchange, { basic: true });
    expect(tokens.status).toBe(200);
    expect(tokens.headers.get('cache-control')).toBe('no-store');
    expect(tokens.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 7200,
      refresh_token: expect.any(String),
      scope: 'default',
      created_at: expect.any(Number),
      owner: other.owner.uri,
      organization: other.organizationUri,
    });
    expect(Math.abs((tokens.body.created_at as number) - Date.now() / 1000)).toBeLessThan(60);

    const me = await call(fake, '/users/me', { token: tokens.body.access_token as string });
    expect(me.status).toBe(200);
    expect(resourceOf(userSchema).parse(me.body).resource).toMatchObject({
      uri: other.owner.uri,
      current_organization: other.organizationUri,
    });

    // A code is single-use; presenting it again also ends what it granted (RFC 6749 §4.1.2).
    const again = await postForm('/oauth/token', exchange);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    expect((await call(fake, '/users/me', { token: tokens.body.access_token as string })).status).toBe(401);
  });

  it('refuses a wrong code_verifier, a different redirect_uri and a missing verifier', async () => {
    const { verifier, challenge } = pkcePair();
    const codeFor = () => new URL(fake.authorize(authorizeUrl(challenge), fake.userUri)).searchParams.get('code') ?? '';
    const exchange = (fields: Record<string, string>) =>
      postForm('/oauth/token', { grant_type: 'authorization_code', redirect_uri: REDIRECT_URI, ...fields });

    const wrongVerifier = await exchange({ code: codeFor(), code_verifier: pkcePair().verifier });
    expect(wrongVerifier).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const wrongRedirect = await exchange({
      code: codeFor(),
      code_verifier: verifier,
      redirect_uri: 'http://127.0.0.1:3000/elsewhere',
    });
    expect(wrongRedirect).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const noVerifier = await exchange({ code: codeFor() });
    expect(noVerifier).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(fake.oauthStats().grants).toEqual([]);
  });

  it('refuses a code after its 10 minutes', async () => {
    const { verifier, challenge } = pkcePair();
    const code = new URL(fake.authorize(authorizeUrl(challenge), fake.userUri)).searchParams.get('code') ?? '';
    const tenMinutesLater = Date.now() + 10 * 60_000 + 1000;
    jest.spyOn(Date, 'now').mockReturnValue(tenMinutesLater);
    try {
      const answer = await postForm('/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      });
      expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.stringContaining('expired') } });
    } finally {
      jest.restoreAllMocks();
    }
  });

  it('never redirects for an unknown client or an unregistered redirect_uri, and redirects other errors', async () => {
    const { challenge } = pkcePair();
    const unknownClient = await fetch(authorizeUrl(challenge, { client_id: 'someone-else' }), { redirect: 'manual' });
    expect(unknownClient.status).toBe(400);
    expect(await unknownClient.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    const otherRedirect = await fetch(authorizeUrl(challenge, { redirect_uri: 'https://attacker.example/cb' }), {
      redirect: 'manual',
    });
    expect(otherRedirect.status).toBe(400);
    expect(await otherRedirect.json()).toMatchObject({ error: 'invalid_request' });
    expect(() => fake.authorize(authorizeUrl(challenge, { client_id: 'someone-else' }), fake.userUri)).toThrow(OAuthError);

    const plain = new URL(fake.authorize(authorizeUrl(challenge, { code_challenge_method: 'plain' }), fake.userUri));
    expect(plain.searchParams.get('error')).toBe('invalid_request');
    expect(plain.searchParams.get('state')).toBe('state-123');
    expect(plain.searchParams.has('code')).toBe(false);
    const token = new URL(fake.authorize(authorizeUrl(challenge, { response_type: 'token' }), fake.userUri));
    expect(token.searchParams.get('error')).toBe('unsupported_response_type');

    const deny = await fetch(`${fake.url}/oauth/authorize`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...Object.fromEntries(new URL(authorizeUrl(challenge)).searchParams), decision: 'deny' }).toString(),
    });
    expect(deny.status).toBe(302);
    expect(new URL(deny.headers.get('location') ?? '').searchParams.get('error')).toBe('access_denied');
  });

  it('authenticates the client by form or HTTP Basic and answers 401 invalid_client otherwise', async () => {
    const wrongForm = await postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { secret: 'wrong' });
    expect(wrongForm).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const wrongBasic = await postForm('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { basic: true, secret: 'wrong' });
    expect(wrongBasic).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(wrongBasic.headers.get('www-authenticate')).toContain('Basic');
    const unsupported = await postForm('/oauth/token', { grant_type: 'password' });
    expect(unsupported).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    const json = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token' }),
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('refresh tokens', () => {
  it('rotate: a refresh returns new tokens, the used refresh token is refused afterwards, and both are counted', async () => {
    const first = await connect(fake.userUri);
    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ token_type: 'Bearer', owner: fake.userUri, organization: fake.organizationUri });
    expect(rotated.body.refresh_token).not.toBe(first.refresh_token);
    expect(rotated.body.access_token).not.toBe(first.access_token);

    const reused = await refresh(first.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });

    // The new refresh token still works once.
    const next = await refresh(rotated.body.refresh_token as string);
    expect(next.status).toBe(200);
    expect((await call(fake, '/users/me', { token: next.body.access_token as string })).status).toBe(200);

    const stats = fake.oauthStats();
    expect(stats.tokenRequests).toBe(4);
    expect(stats.refreshesByOwner).toEqual({ [fake.userUri]: 2 });
    expect(stats.grants).toEqual([expect.objectContaining({ owner: fake.userUri, refreshes: 2, revokedAt: null })]);
  });
});

describe('access token expiry', () => {
  it('answers 401 Unauthenticated once the token expired, and a refresh brings a working one', async () => {
    fake.setAccessTokenLifetime(60);
    const tokens = await connect(fake.userUri);
    expect(fake.oauthStats().grants).toHaveLength(1);
    expect((await call(fake, '/users/me', { token: tokens.access_token })).status).toBe(200);

    expect(fake.expireAccessTokens(fake.userUri)).toBe(1);
    const expired = await call(fake, '/users/me', { token: tokens.access_token });
    expect(expired.status).toBe(401);
    expect(apiErrorSchema.parse(expired.body)).toEqual({ title: 'Unauthenticated', message: 'The access token is expired' });

    const refreshed = await refresh(tokens.refresh_token);
    expect(refreshed.body.expires_in).toBe(60);
    expect((await call(fake, '/users/me', { token: refreshed.body.access_token as string })).status).toBe(200);
  });

  it('lets a token lapse on its own after expires_in seconds', async () => {
    fake.setAccessTokenLifetime(1);
    const tokens = await connect(fake.userUri);
    const later = Date.now() + 1500;
    jest.spyOn(Date, 'now').mockReturnValue(later);
    try {
      expect((await call(fake, '/users/me', { token: tokens.access_token })).status).toBe(401);
    } finally {
      jest.restoreAllMocks();
    }
  });
});

describe('revoke and introspect', () => {
  it('POST /oauth/revoke ends the grant: its access and refresh tokens stop working', async () => {
    const tokens = await connect(fake.userUri);
    const active = await postForm('/oauth/introspect', { token: tokens.access_token });
    expect(active.body).toMatchObject({
      active: true,
      client_id: APP.clientId,
      scope: 'default',
      owner: fake.userUri,
      organization: fake.organizationUri,
    });

    const revoked = await postForm('/oauth/revoke', { token: tokens.refresh_token });
    expect(revoked.status).toBe(200);
    expect((await call(fake, '/users/me', { token: tokens.access_token })).status).toBe(401);
    expect(await refresh(tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await postForm('/oauth/introspect', { token: tokens.access_token })).body).toEqual({ active: false });

    // RFC 7009: an unknown token is not an error; a missing one or a wrong client is.
    expect((await postForm('/oauth/revoke', { token: 'unknown' })).status).toBe(200);
    expect(await postForm('/oauth/revoke', {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await postForm('/oauth/revoke', { token: tokens.access_token }, { secret: 'wrong' })).toMatchObject({
      status: 403,
      body: { error: 'invalid_client' },
    });
  });

  it('POST /oauth/revoke with a refresh token already spent on a refresh changes nothing (a dead token)', async () => {
    const first = await connect(fake.userUri);
    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    const second = rotated.body as { access_token: string; refresh_token: string };
    expect((await postForm('/oauth/revoke', { token: first.refresh_token })).status).toBe(200);
    expect((await postForm('/oauth/introspect', { token: second.access_token })).body).toMatchObject({ active: true });
    expect((await postForm('/oauth/revoke', { token: second.refresh_token })).status).toBe(200);
    expect((await postForm('/oauth/introspect', { token: second.access_token })).body).toEqual({ active: false });
  });

  it('revokeGrants (the user disconnects the app in Calendly) stops that user’s tokens and no one else’s', async () => {
    const other = fake.createOrganization({ owner: { name: 'Blake Other', email: 'blake@other.example' } });
    const mine = await connect(fake.userUri);
    const theirs = await connect(other.owner.uri);

    expect(fake.revokeGrants(fake.userUri)).toBe(1);
    const refused = await call(fake, '/users/me', { token: mine.access_token });
    expect(refused.status).toBe(401);
    expect(apiErrorSchema.parse(refused.body).title).toBe('Unauthenticated');
    expect(await refresh(mine.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await call(fake, '/users/me', { token: theirs.access_token })).status).toBe(200);
    expect((await refresh(theirs.refresh_token)).status).toBe(200);
  });
});

describe('OAuth controls over HTTP', () => {
  it('authorizes, shortens lifetimes, expires, revokes and reports counters through /_fake/oauth', async () => {
    const { verifier, challenge } = pkcePair();
    const authorized = await call(fake, '/_fake/oauth/authorize', {
      method: 'POST',
      body: { authorizeUrl: authorizeUrl(challenge), user: fake.userUri },
      token: null,
    });
    expect(authorized.status).toBe(200);
    const code = new URL((authorized.body as { redirectUrl: string }).redirectUrl).searchParams.get('code') ?? '';

    const lifetime = await call(fake, '/_fake/oauth/access-token-lifetime', { method: 'POST', body: { seconds: 30 }, token: null });
    expect(lifetime.status).toBe(204);
    const tokens = await postForm('/oauth/token', {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    expect(tokens.body.expires_in).toBe(30);

    const expire = await call(fake, '/_fake/oauth/expire-access-tokens', { method: 'POST', body: {}, token: null });
    expect(expire.body).toEqual({ expired: 1 });
    const revoke = await call(fake, '/_fake/oauth/revoke-grants', { method: 'POST', body: { user: fake.userUri }, token: null });
    expect(revoke.body).toEqual({ revoked: 1 });
    const stats = await call(fake, '/_fake/oauth/stats', { token: null });
    expect(stats.body).toMatchObject({ tokenRequests: 1, refreshesByOwner: { [fake.userUri]: 0 } });

    const badClient = await call(fake, '/_fake/oauth/authorize', {
      method: 'POST',
      body: { authorizeUrl: authorizeUrl(challenge, { client_id: 'nope' }), user: fake.userUri },
      token: null,
    });
    expect(badClient).toMatchObject({ status: 400, body: { error: 'invalid_client' } });
  });

  it('answers invalid_client when the fake runs without an OAuth app', async () => {
    const plain = await startFakeCalendly({ apiToken: 'only-a-personal-token' });
    try {
      const answer = await fetch(`${plain.url}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=refresh_token&refresh_token=x',
      });
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ error: 'invalid_client' });
    } finally {
      await plain.close();
    }
  });
});
