/**
 * API tokens: those in API_TOKENS, and those issued per organization by `npm run api-tokens` (kept as hashes in
 * PostgreSQL). Presented as `Authorization: Bearer <token>`, never in a URL: where a header cannot be set (a
 * browser's websocket), a short-lived single-use ticket stands for the token (`POST /api/ws-ticket`, `/ws?ticket=`).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { ApiToken } from '../config';

/** Issued tokens start with it, so that they can be recognised (e.g. by secret scanners) and only they are looked up. */
const ISSUED_TOKEN_PREFIX = 'cbk_';
const ISSUED_TOKEN_BYTES = 32;
const WEBSOCKET_TICKET_PREFIX = 'cbt_';
/** Long enough for a page to open its websocket right after asking, short enough that a leaked one is spent. */
export const WEBSOCKET_TICKET_SECONDS = 30;

/** Who a request is from: the organization whose data it may read (all when absent), and the issued token's id. */
export interface ApiCaller {
  organization?: string;
  /** set for a token issued by `npm run api-tokens`, whose revocation closes the websockets opened with it */
  issuedTokenId?: string;
  /** which token it is, for per-token limits: the issued token's id, or a digest of the API_TOKENS entry */
  tokenKey: string;
}

/** The issued tokens in PostgreSQL (src/database/api-tokens.ts, issuedApiTokenStore). */
export interface IssuedApiTokenStore {
  /** the unrevoked token with this hash, its use noted */
  use(tokenHash: Buffer): Promise<{ id: string; organization: string } | undefined>;
  revokedAmong(ids: readonly string[]): Promise<string[]>;
  /** stores a ticket's hash for the caller, for `seconds`; returns its expiry */
  insertWebsocketTicket(ticketHash: Buffer, caller: ApiCaller, seconds: number): Promise<Date>;
  /** the caller a ticket stands for, once: the ticket is gone after; undefined when expired or its token revoked */
  redeemWebsocketTicket(ticketHash: Buffer): Promise<ApiCaller | undefined>;
}

/**
 * SHA-256, unsalted and fast on purpose: an issued token is 256 random bits, so no dictionary or brute force can
 * reach it, unlike a password; a slow hash would only slow every request down.
 */
export const hashApiToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** A new token to issue: shown once, only its hash is stored. */
export const newIssuedApiToken = (): string => `${ISSUED_TOKEN_PREFIX}${randomBytes(ISSUED_TOKEN_BYTES).toString('base64url')}`;

const bearerOf = (authorization: string | undefined) => /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];

/** The API_TOKENS entry of the request, or undefined. Compared as digests so length and content leak no timing. */
export function findApiToken(authorization: string | undefined, tokens: readonly ApiToken[]): ApiToken | undefined {
  const presented = bearerOf(authorization);
  return presented === undefined ? undefined : configuredToken(presented, tokens);
}

function configuredToken(presented: string, tokens: readonly ApiToken[]): ApiToken | undefined {
  const digest = hashApiToken(presented);
  return tokens.find((candidate) => timingSafeEqual(hashApiToken(candidate.token), digest));
}

export class ApiTokens {
  constructor(
    private readonly configured: readonly ApiToken[],
    readonly issued: IssuedApiTokenStore,
  ) {}

  /**
   * The caller of a request with `Authorization: Bearer <token>`. API_TOKENS are tried before the issued tokens, which
   * cost one indexed query (no cache: a revocation holds at once, in every process).
   */
  async authenticate(authorization: string | undefined): Promise<ApiCaller | undefined> {
    const presented = bearerOf(authorization);
    if (!presented) return undefined;
    const configured = configuredToken(presented, this.configured);
    if (configured) return { organization: configured.organization, tokenKey: `configured:${hashApiToken(configured.token).toString('hex').slice(0, 16)}` };
    if (!presented.startsWith(ISSUED_TOKEN_PREFIX)) return undefined;
    const issued = await this.issued.use(hashApiToken(presented));
    return issued && { organization: issued.organization, issuedTokenId: issued.id, tokenKey: issued.id };
  }

  /** A websocket ticket for the caller: single use, valid WEBSOCKET_TICKET_SECONDS, only its hash stored (in PostgreSQL, for every receiver). */
  async issueWebsocketTicket(caller: ApiCaller): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = `${WEBSOCKET_TICKET_PREFIX}${randomBytes(ISSUED_TOKEN_BYTES).toString('base64url')}`;
    const expiresAt = await this.issued.insertWebsocketTicket(hashApiToken(ticket), caller, WEBSOCKET_TICKET_SECONDS);
    return { ticket, expiresAt };
  }

  /** The caller a ticket stands for, spending it; anything not shaped like a ticket costs no query. */
  async redeemWebsocketTicket(ticket: string): Promise<ApiCaller | undefined> {
    if (!/^cbt_[A-Za-z0-9_-]{43}$/.test(ticket)) return undefined;
    return this.issued.redeemWebsocketTicket(hashApiToken(ticket));
  }
}

/** Answers 401 without a valid token; puts the caller (an ApiCaller) in `ctx.state.apiToken`. */
export function requireApiToken(tokens: ApiTokens): Middleware {
  return async (ctx, next) => {
    const caller = await tokens.authenticate(ctx.get('authorization') || undefined);
    if (!caller) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { error: 'A valid bearer token is required (Authorization: Bearer <token>)', code: 'unauthorized' };
      return;
    }
    ctx.state.apiToken = caller;
    await next();
  };
}
