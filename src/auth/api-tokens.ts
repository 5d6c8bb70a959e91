/** `Authorization: Bearer <token>` (or `?token=<token>`, where a header cannot be set) against API_TOKENS. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import type { ApiToken } from '../config';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The API token of the request, or undefined. Compared as digests so length and content leak no timing. */
export function findApiToken(authorization: string | undefined, tokens: readonly ApiToken[]): ApiToken | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const presented = digest(match[1]);
  return tokens.find((candidate) => timingSafeEqual(digest(candidate.token), presented));
}

/**
 * The API token of a request that may carry it in `?token=` instead: browsers cannot set headers on a websocket,
 * and a link is how people open the dashboard. The Authorization header is tried first.
 */
export function findApiTokenOf(
  authorization: string | undefined,
  queryToken: string | undefined,
  tokens: readonly ApiToken[],
): ApiToken | undefined {
  return findApiToken(authorization, tokens) ?? (queryToken ? findApiToken(`Bearer ${queryToken}`, tokens) : undefined);
}

export function requireApiToken(tokens: readonly ApiToken[]): Middleware {
  return async (ctx, next) => {
    const token = findApiToken(ctx.get('authorization') || undefined, tokens);
    if (!token) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { error: 'A valid bearer token is required (Authorization: Bearer <token>)', code: 'unauthorized' };
      return;
    }
    ctx.state.apiToken = token;
    await next();
  };
}
