/**
 * The api_tokens table: API tokens issued per organization by `npm run api-tokens`, besides those in API_TOKENS.
 * Only the SHA-256 of a token is stored (see src/auth/api-tokens.ts); the clear token is shown once, when issued.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { boolean, nullable, queryRow, queryRows, rowShape, text, timestamp, type RowShape } from './rows';
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

const ISSUED_TOKEN_FIELDS = {
  id: text,
  organization: text,
  label: nullable(text),
  createdAt: timestamp,
  lastUsedAt: nullable(timestamp),
  revokedAt: nullable(timestamp),
};
const issuedTokenRow: RowShape<IssuedApiToken> = rowShape(ISSUED_TOKEN_FIELDS);
const revokedTokenRow = rowShape({ ...ISSUED_TOKEN_FIELDS, alreadyRevoked: boolean });
const tokenOwnerRow = rowShape({ id: text, organization: text });
const idRow = rowShape({ id: text });

export async function insertApiToken(
  em: EntityManager,
  token: { organization: string; label?: string; tokenHash: Buffer },
): Promise<IssuedApiToken> {
  const [row] = await queryRows(
    em,
    issuedTokenRow,
    `insert into api_tokens (organization, label, token_hash) values (?, ?, ?) returning ${issuedTokenRow.columns}`,
    [token.organization, token.label ?? null, token.tokenHash],
  );
  return row;
}

/**
 * The unrevoked token with this hash, and its use noted: one statement on the unique index, whose update only
 * happens when the last noted use is over a minute old.
 */
export async function useApiToken(em: EntityManager, tokenHash: Buffer): Promise<{ id: string; organization: string } | undefined> {
  return queryRow(
    em,
    tokenOwnerRow,
    `with found as (select id, organization, last_used_at from api_tokens where token_hash = ? and revoked_at is null),
     noted as (
       update api_tokens set last_used_at = now() from found
       where api_tokens.id = found.id and (api_tokens.last_used_at is null or api_tokens.last_used_at < now() - interval '${LAST_USED_RESOLUTION}'))
     select id, organization from found`,
    [tokenHash],
  );
}

/** Those of `ids` that are revoked (a broadcaster checks its open websockets after it missed notifications). */
export async function revokedApiTokenIds(em: EntityManager, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await queryRows(
    em,
    idRow,
    `select id from api_tokens where id in (${ids.map(() => '?').join(', ')}) and revoked_at is not null`,
    [...ids],
  );
  return rows.map((row) => row.id);
}

/** Oldest first; every organization's when none is given. */
export async function listApiTokens(em: EntityManager, organization?: string): Promise<IssuedApiToken[]> {
  return queryRows(
    em,
    issuedTokenRow,
    `select ${issuedTokenRow.columns} from api_tokens where ?::text is null or organization = ? order by created_at, id`,
    [organization ?? null, organization ?? null],
  );
}

/**
 * Revokes the token and, in the same transaction, tells every broadcaster; a token revoked before keeps its time.
 * Undefined when there is no such token.
 */
export async function revokeApiToken(em: EntityManager, id: string): Promise<{ token: IssuedApiToken; alreadyRevoked: boolean } | undefined> {
  return em.transactional(async (tx) => {
    const row = await queryRow(
      tx,
      revokedTokenRow,
      `update api_tokens t set revoked_at = coalesce(before.revoked_at, now())
       from (select id, revoked_at from api_tokens where id = ? for update) before where t.id = before.id
       returning ${issuedTokenRow.columnsOf('t')}, before.revoked_at is not null as already_revoked`,
      [id],
    );
    if (!row) return undefined;
    const { alreadyRevoked, ...token } = row;
    // NOTIFY in a transaction is delivered on commit only.
    if (!alreadyRevoked) await tx.execute('select pg_notify(?, ?)', [API_TOKEN_REVOCATIONS_CHANNEL, token.id]);
    return { token, alreadyRevoked };
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
