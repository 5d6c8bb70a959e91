/**
 * Who a request is from: a token of API_TOKENS, or one issued per organization and kept hashed in PostgreSQL; the
 * Authorization header first, `?token=` where a header cannot be set.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ApiTokens, findApiToken, hashApiToken, newIssuedApiToken } from '../../src/auth/api-tokens';
import { insertApiToken, issuedApiTokenStore, listApiTokens, revokeApiToken } from '../../src/database/api-tokens';
import { newOrganization, openOrm } from '../database/database';

const ACME = 'https://api.calendly.com/organizations/ACME';
const tokens = [{ token: 'admin-token' }, { token: 'acme-token', organization: ACME }];

let orm: MikroORM;
let apiTokens: ApiTokens;
beforeAll(async () => {
  orm = await openOrm();
  apiTokens = new ApiTokens(tokens, issuedApiTokenStore(orm));
});
afterAll(() => orm.close());

async function issue(organization: string) {
  const token = newIssuedApiToken();
  const issued = await insertApiToken(orm.em.fork(), { organization, tokenHash: hashApiToken(token) });
  return { token, id: issued.id };
}

const lastUsedAt = async (id: string) =>
  (await listApiTokens(orm.em.fork())).find((token) => token.id === id)!.lastUsedAt;

describe('findApiToken', () => {
  it('finds the configured token named by a bearer header, with its organization', () => {
    expect(findApiToken('Bearer acme-token', tokens)).toEqual(tokens[1]);
    expect(findApiToken('bearer admin-token', tokens)).toEqual(tokens[0]);
  });

  it.each([undefined, '', 'acme-token', 'Basic acme-token', 'Bearer acme', 'Bearer acme-token extra', 'Bearer acme-token2'])(
    'finds none for %p',
    (authorization) => {
      expect(findApiToken(authorization, tokens)).toBeUndefined();
    },
  );
});

describe('newIssuedApiToken', () => {
  it('is a recognisable prefix and 32 random bytes in base64url', () => {
    const issued = new Set(Array.from({ length: 100 }, newIssuedApiToken));
    expect(issued.size).toBe(100);
    for (const token of issued) expect(token).toMatch(/^cbk_[A-Za-z0-9_-]{43}$/);
  });
});

describe('ApiTokens.authenticate', () => {
  it('gives a configured token its organization, or none for one bound to no organization', async () => {
    expect(await apiTokens.authenticate('Bearer acme-token')).toEqual({ organization: ACME });
    expect(await apiTokens.authenticate('Bearer admin-token')).toEqual({ organization: undefined });
  });

  it('prefers the Authorization header over the query, and falls back to ?token= when the header is not a token', async () => {
    expect(await apiTokens.authenticate('Bearer admin-token', 'acme-token')).toEqual({ organization: undefined });
    expect(await apiTokens.authenticate(undefined, 'acme-token')).toEqual({ organization: ACME });
    expect(await apiTokens.authenticate('Bearer wrong', 'acme-token')).toEqual({ organization: ACME });
  });

  it('finds none when neither names a token', async () => {
    expect(await apiTokens.authenticate(undefined, undefined)).toBeUndefined();
    expect(await apiTokens.authenticate('Bearer wrong', 'also-wrong')).toBeUndefined();
    expect(await apiTokens.authenticate(undefined, '')).toBeUndefined();
    expect(await apiTokens.authenticate(`Bearer ${newIssuedApiToken()}`)).toBeUndefined();
  });

  it('finds an issued token, in the header or the query, bound to its organization', async () => {
    const organization = newOrganization();
    const { token, id } = await issue(organization);
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toEqual({ organization, issuedTokenId: id });
    expect(await apiTokens.authenticate(undefined, token)).toEqual({ organization, issuedTokenId: id });
    expect(await apiTokens.authenticate(`Bearer ${token}x`)).toBeUndefined();
  });

  it('refuses an issued token once it is revoked', async () => {
    const { token, id } = await issue(newOrganization());
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toBeDefined();
    await revokeApiToken(orm.em.fork(), id);
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toBeUndefined();
    expect(await apiTokens.authenticate(undefined, token)).toBeUndefined();
  });

  it('notes when an issued token was last used, at most once a minute', async () => {
    const { token, id } = await issue(newOrganization());
    expect(await lastUsedAt(id)).toBeNull();
    await apiTokens.authenticate(`Bearer ${token}`);
    const first = await lastUsedAt(id);
    expect(first).toBeInstanceOf(Date);
    await apiTokens.authenticate(`Bearer ${token}`);
    expect(await lastUsedAt(id)).toEqual(first);

    await orm.em.fork().execute(`update api_tokens set last_used_at = now() - interval '2 minutes' where id = ?`, [id]);
    const old = await lastUsedAt(id);
    await apiTokens.authenticate(`Bearer ${token}`);
    expect((await lastUsedAt(id))!.getTime()).toBeGreaterThan(old!.getTime());
  });
});
