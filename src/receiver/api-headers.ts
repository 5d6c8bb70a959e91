/** Answers of the read API (/api/*) are private and typed: never cached, never sniffed as another type. */
import type { Middleware } from 'koa';

export const apiResponseHeaders: Middleware = async (ctx, next) => {
  if (ctx.path === '/api' || ctx.path.startsWith('/api/')) {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
  }
  await next();
};
