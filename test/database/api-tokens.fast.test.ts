/** src/database/api-tokens.ts: issued API tokens kept as hashes, listed per organization, revoked with a notification. */
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { hashApiToken, newIssuedApiToken } from '../../src/auth/api-tokens';
import {
  API_TOKEN_REVOCATIONS_CHANNEL,
  insertApiToken,
  listApiTokens,
  revokeApiToken,
  revokedApiTokenIds,
  useApiToken,
} from '../../src/database/api-tokens';
import { harness } from '../support/harness';
import { newOrganization, openOrm } from './database';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

async function issue(organization: string, label?: string) {
  const token = newIssuedApiToken();
  return { token, issued: await insertApiToken(orm.em.fork(), { organization, label, tokenHash: hashApiToken(token) }) };
}

it('keeps only the SHA-256 of a token: the token itself is nowhere in the table', async () => {
  const { token, issued } = await issue(newOrganization(), 'CRM');
  const rows = await orm.em.fork().execute<Record<string, unknown>[]>('select * from api_tokens');
  const stored = JSON.stringify(rows.map((row) => Object.values(row).map((value) => (Buffer.isBuffer(value) ? value.toString('base64url') : value))));
  expect(stored).not.toContain(token);
  expect(stored).not.toContain(token.slice('cbk_'.length));
  const [own] = await orm.em.fork().execute<{ token_hash: Buffer }[]>('select token_hash from api_tokens where id = ?', [issued.id]);
  expect(own.token_hash).toEqual(hashApiToken(token));
});

it('refuses a second token with the same hash', async () => {
  const tokenHash = hashApiToken(newIssuedApiToken());
  await insertApiToken(orm.em.fork(), { organization: newOrganization(), tokenHash });
  await expect(insertApiToken(orm.em.fork(), { organization: newOrganization(), tokenHash })).rejects.toThrow(/api_tokens_token_hash_unique/);
});

it('lists the tokens of one organization, oldest first, or of all, without their hash', async () => {
  const [acme, globex] = [newOrganization(), newOrganization()];
  const first = (await issue(acme, 'first')).issued;
  const second = (await issue(acme)).issued;
  const other = (await issue(globex, 'other')).issued;

  const listed = await listApiTokens(orm.em.fork(), acme);
  expect(listed).toEqual([
    { id: first.id, organization: acme, label: 'first', createdAt: expect.any(Date), lastUsedAt: null, revokedAt: null },
    { id: second.id, organization: acme, label: null, createdAt: expect.any(Date), lastUsedAt: null, revokedAt: null },
  ]);
  expect((await listApiTokens(orm.em.fork())).map(({ id }) => id)).toEqual(expect.arrayContaining([first.id, second.id, other.id]));
});

it('finds a token by its hash until it is revoked; a second revoke keeps the first time', async () => {
  const organization = newOrganization();
  const { token, issued } = await issue(organization);
  expect(await useApiToken(orm.em.fork(), hashApiToken(token))).toEqual({ id: issued.id, organization });

  const revoked = await revokeApiToken(orm.em.fork(), issued.id);
  expect(revoked).toEqual({ token: expect.objectContaining({ id: issued.id, revokedAt: expect.any(Date) }), alreadyRevoked: false });
  expect(await useApiToken(orm.em.fork(), hashApiToken(token))).toBeUndefined();
  expect(await revokedApiTokenIds(orm.em.fork(), [issued.id, (await issue(organization)).issued.id])).toEqual([issued.id]);

  const again = await revokeApiToken(orm.em.fork(), issued.id);
  expect(again).toEqual({ token: expect.objectContaining({ revokedAt: revoked!.token.revokedAt }), alreadyRevoked: true });
  expect(await revokeApiToken(orm.em.fork(), randomUUID())).toBeUndefined();
});

it('notifies the revoked token id on its channel, once', async () => {
  const listener = new Client({ connectionString: harness().databaseUrl });
  await listener.connect();
  try {
    const payloads: string[] = [];
    listener.on('notification', ({ channel, payload }) => {
      if (channel === API_TOKEN_REVOCATIONS_CHANNEL && payload) payloads.push(payload);
    });
    await listener.query(`listen ${API_TOKEN_REVOCATIONS_CHANNEL}`);
    const { issued } = await issue(newOrganization());
    await revokeApiToken(orm.em.fork(), issued.id);
    await revokeApiToken(orm.em.fork(), issued.id);
    // A round trip on the listening connection after both commits: their notifications have arrived before its answer.
    await listener.query('select 1');
    expect(payloads.filter((payload) => payload === issued.id)).toEqual([issued.id]);
  } finally {
    await listener.end();
  }
});
