/**
 * CORS for the read API (/api/*) and /openapi.json, for the browser origins of CORS_ALLOWED_ORIGINS (exact
 * matches). None configured: no CORS headers at all. Never on the webhook, /metrics or the health checks.
 */
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import { REQUEST_ID_HEADER } from './request-context';

const PREFLIGHT_MAX_AGE_SECONDS = 600;

export function isCorsPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/openapi.json';
}

export function corsForApi(allowedOrigins: readonly string[]): Middleware | undefined {
  if (allowedOrigins.length === 0) return undefined;
  const allowed = new Set(allowedOrigins);
  const withCors = cors({
    // An origin not in the list gets no Access-Control-Allow-Origin: the browser then refuses the answer.
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      return allowed.has(origin) ? origin : '';
    },
    allowMethods: ['GET', 'HEAD', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', REQUEST_ID_HEADER],
    exposeHeaders: [REQUEST_ID_HEADER],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });
  return async (ctx, next) => {
    if (isCorsPath(ctx.path)) await withCors(ctx, next);
    else await next();
  };
}
