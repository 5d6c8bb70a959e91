/**
 * The live dashboard. GET / serves the page to a holder of an API token, given as ?token= because a link is how
 * people open it; the page then uses that token for GET /api/dashboard (its data) and for the websocket.
 * The page's script and style are static files, which lets the page forbid inline scripts: it shows names and
 * answers that anyone who books can choose.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { ApiToken } from '../../config';
import { findApiTokenOf, requireApiToken } from '../../auth/api-tokens';
import type { ReceiverDependencies } from '../dependencies';
import { readDashboard } from './dashboard-data';

/** Copied next to the compiled code by `npm run build`. */
const PUBLIC_DIR = join(__dirname, 'public');
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes({ orm, config }: ReceiverDependencies): Router {
  const page = readFileSync(join(PUBLIC_DIR, 'index.html'));
  const router = new Router();

  router.get('/', (ctx) => {
    const queryToken = typeof ctx.query.token === 'string' ? ctx.query.token : undefined;
    const token = findApiTokenOf(ctx.get('authorization') || undefined, queryToken, config.apiTokens);
    // The token is in the address: it must not leak to linked sites or caches.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    if (!token) return unauthorized(ctx);
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'html';
    ctx.body = page;
  });

  router.get('/api/dashboard', requireApiToken(config.apiTokens), async (ctx) => {
    const { organization } = ctx.state.apiToken as ApiToken;
    ctx.body = await readDashboard(orm.em, config.temporal, organization);
  });

  for (const [path, type] of [
    ['/dashboard.js', 'application/javascript; charset=utf-8'],
    ['/dashboard.css', 'text/css; charset=utf-8'],
  ] as const) {
    const body = readFileSync(join(PUBLIC_DIR, path));
    router.get(path, (ctx) => {
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.type = type;
      ctx.body = body;
    });
  }
  return router;
}

function unauthorized(ctx: Context): void {
  ctx.status = 401;
  ctx.set('WWW-Authenticate', 'Bearer');
  if (ctx.accepts('json', 'html') === 'html') {
    ctx.type = 'html';
    ctx.body =
      '<!doctype html><meta charset="utf-8"><title>Token required</title>' +
      '<p>Open the dashboard with an API token from <code>API_TOKENS</code>: <code>/?token=&lt;token&gt;</code></p>';
  } else {
    ctx.body = { error: 'A valid API token is required: /?token=<token>', code: 'unauthorized' };
  }
}
