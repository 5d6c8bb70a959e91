/**
 * The websocket_tickets table: short-lived, single-use tickets that stand for an API token on /ws?ticket=…, so that
 * the token itself never travels in a URL (browser history, proxy logs). Only the SHA-256 of a ticket is stored;
 * redeeming deletes it, so a ticket opens one websocket on whichever receiver it reaches, once.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { nullable, queryRow, queryRows, rowShape, text, timestamp } from './rows';

/** What a ticket stands for: the caller that asked for it (src/auth/api-tokens.ts, ApiCaller). */
export interface TicketHolder {
  organization?: string;
  tokenKey: string;
  issuedTokenId?: string;
}

const holderRow = rowShape({ organization: nullable(text), tokenKey: text, issuedTokenId: nullable(text) });
const expiryRow = rowShape({ expiresAt: timestamp });

/** Stores the ticket's hash for `seconds`; expired tickets go in the same statement. Returns its expiry. */
export async function insertWebsocketTicket(em: EntityManager, ticketHash: Buffer, holder: TicketHolder, seconds: number): Promise<Date> {
  const [row] = await queryRows(
    em,
    expiryRow,
    `with expired as (delete from websocket_tickets where expires_at < now())
     insert into websocket_tickets (ticket_hash, organization, token_key, issued_token_id, expires_at)
     values (?, ?, ?, ?, now() + make_interval(secs => ?)) returning expires_at`,
    [ticketHash, holder.organization ?? null, holder.tokenKey, holder.issuedTokenId ?? null, seconds],
  );
  return row.expiresAt;
}

/**
 * Deletes the ticket and returns whom it stands for, when it had not expired and its issued token (if any) is not
 * revoked meanwhile; a second redeem of the same ticket finds nothing.
 */
export async function redeemWebsocketTicket(em: EntityManager, ticketHash: Buffer): Promise<TicketHolder | undefined> {
  const row = await queryRow(
    em,
    holderRow,
    `with redeemed as (delete from websocket_tickets where ticket_hash = ? returning organization, token_key, issued_token_id, expires_at)
     select organization, token_key, issued_token_id from redeemed
     where expires_at > now()
       and (issued_token_id is null or exists (select 1 from api_tokens where id = issued_token_id and revoked_at is null))`,
    [ticketHash],
  );
  if (!row) return undefined;
  return { organization: row.organization ?? undefined, tokenKey: row.tokenKey, issuedTokenId: row.issuedTokenId ?? undefined };
}
