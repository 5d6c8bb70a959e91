/**
 * The api_tokens table: API tokens issued per organization by `npm run api-tokens`, besides those in API_TOKENS.
 * Only the SHA-256 of a token is stored (see src/auth/api-tokens.ts); the clear token is shown once, when issued.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { insertWebsocketTicket, redeemWebsocketTicket, type TicketHolder } from './websocket-tickets';

/** Revoking a token NOTIFYs its id here on commit: every broadcaster closes the websockets opened with it. */
export const API_TOKEN_REVOCATIONS_CHANNEL = 'api_token_revocations';

/** Its use is written at most this often, so that reads do not each cost a write. */
const LAST_USED_RESOLUTION = '1 minute';

export interface IssuedApiToken {
  id: string;
  organization: string;
  label: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** Raw queries give timestamps as text. */
interface Row {
  id: string;
  organization: string;
  label: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const dateOf = (value: string | null) => (value === null ? null : new Date(value));

const toIssuedApiToken = (row: Row): IssuedApiToken => ({
  id: row.id,
  organization: row.organization,
  label: row.label,
  createdAt: new Date(row.created_at),
  lastUsedAt: dateOf(row.last_used_at),
  revokedAt: dateOf(row.revoked_at),
});

export async function insertApiToken(
  em: EntityManager,
  token: { organization: string; label?: string; tokenHash: Buffer },
): Promise<IssuedApiToken> {
  const [row] = await em.execute<Row[]>(
    `insert into api_tokens (organization, label, token_hash) values (?, ?, ?)
     returning id, organization, label, created_at, last_used_at, revoked_at`,
    [token.organization, token.label ?? null, token.tokenHash],
  );
  return toIssuedApiToken(row);
}

/**
 * The unrevoked token with this hash, and its use noted: one statement on the unique index, whose update only
 * happens when the last noted use is over a minute old.
 */
export async function useApiToken(em: EntityManager, tokenHash: Buffer): Promise<{ id: string; organization: string } | undefined> {
  const [row] = await em.execute<{ id: string; organization: string }[]>(
    `with found as (select id, organization, last_used_at from api_tokens where token_hash = ? and revoked_at is null),
     noted as (
       update api_tokens set last_used_at = now() from found
       where api_tokens.id = found.id and (api_tokens.last_used_at is null or api_tokens.last_used_at < now() - interval '${LAST_USED_RESOLUTION}'))
     select id, organization from found`,
    [tokenHash],
  );
  return row;
}

/** Those of `ids` that are revoked (a broadcaster checks its open websockets after it missed notifications). */
export async function revokedApiTokenIds(em: EntityManager, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await em.execute<{ id: string }[]>(
    `select id from api_tokens where id in (${ids.map(() => '?').join(', ')}) and revoked_at is not null`,
    [...ids],
  );
  return rows.map((row) => row.id);
}

/** Oldest first; every organization's when none is given. */
export async function listApiTokens(em: EntityManager, organization?: string): Promise<IssuedApiToken[]> {
  const rows = await em.execute<Row[]>(
    `select id, organization, label, created_at, last_used_at, revoked_at from api_tokens
     where ?::text is null or organization = ? order by created_at, id`,
    [organization ?? null, organization ?? null],
  );
  return rows.map(toIssuedApiToken);
}

/**
 * Revokes the token and, in the same transaction, tells every broadcaster; a token revoked before keeps its time.
 * Undefined when there is no such token.
 */
export async function revokeApiToken(em: EntityManager, id: string): Promise<{ token: IssuedApiToken; alreadyRevoked: boolean } | undefined> {
  return em.transactional(async (tx) => {
    const [row] = await tx.execute<(Row & { already_revoked: boolean })[]>(
      `update api_tokens t set revoked_at = coalesce(before.revoked_at, now())
       from (select id, revoked_at from api_tokens where id = ? for update) before where t.id = before.id
       returning t.id, t.organization, t.label, t.created_at, t.last_used_at, t.revoked_at, before.revoked_at is not null as already_revoked`,
      [id],
    );
    if (!row) return undefined;
    // NOTIFY in a transaction is delivered on commit only.
    if (!row.already_revoked) await tx.execute('select pg_notify(?, ?)', [API_TOKEN_REVOCATIONS_CHANNEL, row.id]);
    return { token: toIssuedApiToken(row), alreadyRevoked: row.already_revoked };
  });
}

/** The issued tokens as the API token check (src/auth/api-tokens.ts) reads them, each read on its own fork. */
export function issuedApiTokenStore(orm: MikroORM) {
  return {
    use: (tokenHash: Buffer) => useApiToken(orm.em.fork(), tokenHash),
    revokedAmong: (ids: readonly string[]) => revokedApiTokenIds(orm.em.fork(), ids),
    insertWebsocketTicket: (ticketHash: Buffer, holder: TicketHolder, seconds: number) => insertWebsocketTicket(orm.em.fork(), ticketHash, holder, seconds),
    redeemWebsocketTicket: (ticketHash: Buffer) => redeemWebsocketTicket(orm.em.fork(), ticketHash),
  };
}
