/**
 * API tokens: those in API_TOKENS, and those issued per organization by `npm run api-tokens` (kept as hashes in
 * PostgreSQL). Presented as `Authorization: Bearer <token>`, or `?token=<token>` where a header cannot be set.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { ApiToken } from '../config';

/** Issued tokens start with it, so that they can be recognised (e.g. by secret scanners) and only they are looked up. */
const ISSUED_TOKEN_PREFIX = 'cbk_';
const ISSUED_TOKEN_BYTES = 32;

/** Who a request is from: the organization whose data it may read (all when absent), and the issued token's id. */
export interface ApiCaller {
  organization?: string;
  /** set for a token issued by `npm run api-tokens`, whose revocation closes the websockets opened with it */
  issuedTokenId?: string;
}

/** The issued tokens in PostgreSQL (src/database/api-tokens.ts, issuedApiTokenStore). */
export interface IssuedApiTokenStore {
  /** the unrevoked token with this hash, its use noted */
  use(tokenHash: Buffer): Promise<{ id: string; organization: string } | undefined>;
  revokedAmong(ids: readonly string[]): Promise<string[]>;
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
   * The caller of a request that may carry its token in `?token=` instead of the header: browsers cannot set
   * headers on a websocket, and a link is how people open the dashboard. The header is tried first; API_TOKENS
   * before the issued tokens, which cost one indexed query (no cache: a revocation holds at once, in every process).
   */
  async authenticate(authorization: string | undefined, queryToken?: string): Promise<ApiCaller | undefined> {
    for (const presented of [bearerOf(authorization), queryToken]) {
      if (!presented) continue;
      const configured = configuredToken(presented, this.configured);
      if (configured) return { organization: configured.organization };
      if (!presented.startsWith(ISSUED_TOKEN_PREFIX)) continue;
      const issued = await this.issued.use(hashApiToken(presented));
      if (issued) return { organization: issued.organization, issuedTokenId: issued.id };
    }
    return undefined;
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
