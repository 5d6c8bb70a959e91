/**
 * Who a request is from: a token of API_TOKENS, or one issued per organization and kept hashed in PostgreSQL; the
 * Authorization header only (never in a URL; websockets take a ticket instead).
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
    expect(await apiTokens.authenticate('Bearer acme-token')).toMatchObject({ organization: ACME });
    expect(await apiTokens.authenticate('Bearer admin-token')).toMatchObject({ organization: undefined });
  });

  it('tells two configured tokens apart by their key, without the token itself', async () => {
    const acme = await apiTokens.authenticate('Bearer acme-token');
    const admin = await apiTokens.authenticate('Bearer admin-token');
    expect(acme?.tokenKey).not.toEqual(admin?.tokenKey);
    expect(acme?.tokenKey).not.toContain('acme-token');
  });

  it('finds none without a bearer token naming one', async () => {
    expect(await apiTokens.authenticate(undefined)).toBeUndefined();
    expect(await apiTokens.authenticate('Bearer wrong')).toBeUndefined();
    expect(await apiTokens.authenticate('acme-token')).toBeUndefined();
    expect(await apiTokens.authenticate(`Bearer ${newIssuedApiToken()}`)).toBeUndefined();
  });

  it('finds an issued token bound to its organization', async () => {
    const organization = newOrganization();
    const { token, id } = await issue(organization);
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toEqual({ organization, issuedTokenId: id, tokenKey: id });
    expect(await apiTokens.authenticate(`Bearer ${token}x`)).toBeUndefined();
  });

  it('refuses an issued token once it is revoked', async () => {
    const { token, id } = await issue(newOrganization());
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toBeDefined();
    await revokeApiToken(orm.em.fork(), id);
    expect(await apiTokens.authenticate(`Bearer ${token}`)).toBeUndefined();
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
