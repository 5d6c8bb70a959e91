/**
 * The websocket_tickets table: short-lived, single-use tickets that stand for an API token on /ws?ticket=…, so that
 * the token itself never travels in a URL (browser history, proxy logs). Only the SHA-256 of a ticket is stored;
 * redeeming deletes it, so a ticket opens one websocket on whichever receiver it reaches, once.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** What a ticket stands for: the caller that asked for it (src/auth/api-tokens.ts, ApiCaller). */
export interface TicketHolder {
  organization?: string;
  tokenKey: string;
  issuedTokenId?: string;
}

interface Row {
  organization: string | null;
  token_key: string;
  issued_token_id: string | null;
}

/** Stores the ticket's hash for `seconds`; expired tickets go in the same statement. Returns its expiry. */
export async function insertWebsocketTicket(em: EntityManager, ticketHash: Buffer, holder: TicketHolder, seconds: number): Promise<Date> {
  const [row] = await em.execute<{ expires_at: string }[]>(
    `with expired as (delete from websocket_tickets where expires_at < now())
     insert into websocket_tickets (ticket_hash, organization, token_key, issued_token_id, expires_at)
     values (?, ?, ?, ?, now() + make_interval(secs => ?)) returning expires_at`,
    [ticketHash, holder.organization ?? null, holder.tokenKey, holder.issuedTokenId ?? null, seconds],
  );
  return new Date(row.expires_at);
}

/**
 * Deletes the ticket and returns whom it stands for, when it had not expired and its issued token (if any) is not
 * revoked meanwhile; a second redeem of the same ticket finds nothing.
 */
export async function redeemWebsocketTicket(em: EntityManager, ticketHash: Buffer): Promise<TicketHolder | undefined> {
  const [row] = await em.execute<Row[]>(
    `with redeemed as (delete from websocket_tickets where ticket_hash = ? returning organization, token_key, issued_token_id, expires_at)
     select organization, token_key, issued_token_id from redeemed
     where expires_at > now()
       and (issued_token_id is null or exists (select 1 from api_tokens where id = issued_token_id and revoked_at is null))`,
    [ticketHash],
  );
  if (!row) return undefined;
  return { organization: row.organization ?? undefined, tokenKey: row.token_key, issuedTokenId: row.issued_token_id ?? undefined };
}
