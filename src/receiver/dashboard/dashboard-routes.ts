/**
 * The live dashboard. GET / serves the page to a holder of an API token, given as ?token= because a link is how
 * people open it; the page then uses that token for GET /api/dashboard (its data) and for the websocket.
 * The page's script and style are static files, which lets the page forbid inline scripts: it shows names and
 * answers that anyone who books can choose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { requireApiToken, type ApiCaller } from '../../auth/api-tokens';
import { dashboardQuerySchema, dashboardSchema, errorWith } from '../api-schemas';
import type { ReceiverDependencies } from '../dependencies';
import { BEARER_TOKEN, jsonAnswer, textAnswer, UNAUTHORIZED, type ApiPaths } from '../openapi';
import { readDashboard } from './dashboard-data';

/** Copied next to the compiled code by `npm run build`, which also bundles the page's script there. */
const PUBLIC_DIR = join(__dirname, 'public');
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes({ orm, config, apiTokens }: ReceiverDependencies): Router {
  const page = readFileSync(join(PUBLIC_DIR, 'index.html'));
  const router = new Router();

  router.get('/', async (ctx) => {
    const queryToken = typeof ctx.query.token === 'string' ? ctx.query.token : undefined;
    const token = await apiTokens.authenticate(ctx.get('authorization') || undefined, queryToken);
    // The token is in the address: it must not leak to linked sites or caches.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    // Back from Calendly's consent page, the OAuth callback sends the browser to `/?connection=…`, which has no token:
    // the page, which holds no data itself, takes the token from where it saved it before leaving.
    const backFromCalendly = typeof ctx.query.connection === 'string' && !queryToken && !ctx.get('authorization');
    if (!token && !backFromCalendly) return unauthorized(ctx);
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'html';
    ctx.body = page;
  });

  router.get('/api/dashboard', requireApiToken(apiTokens), async (ctx) => {
    const { organization } = ctx.state.apiToken as ApiCaller;
    const query = dashboardQuerySchema.safeParse(ctx.query);
    if (!query.success) {
      ctx.status = 400;
      ctx.body = { error: query.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '), code: 'invalid_query' };
      return;
    }
    const { tz, from, to } = query.data;
    const periods = { timezone: tz, range: from && to ? { from, to } : undefined };
    ctx.body = (await readDashboard(orm.em, config, organization, periods)) satisfies z.output<typeof dashboardSchema>;
  });

  for (const [path, type] of [
    ['/dashboard.js', 'application/javascript; charset=utf-8'],
    ['/dashboard.css', 'text/css; charset=utf-8'],
  ] as const) {
    const file = join(PUBLIC_DIR, path);
    // The script is bundled from client/ (scripts/dev/bundle-dashboard.ts), not kept in git.
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run bundle:dashboard (npm start, npm test and npm run build do)`);
    const body = readFileSync(file);
    router.get(path, (ctx) => {
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.type = type;
      ctx.body = body;
    });
  }
  return router;
}

export const dashboardPaths: ApiPaths = {
  '/': {
    get: {
      operationId: 'getDashboardPage',
      tags: ['dashboard'],
      summary: 'The live dashboard page',
      description:
        'Opened as a link, `/?token=<token>`; the page then reads `/api/dashboard`, `/api/connection` and the websocket. ' +
        'Without a token only as `/?connection=connected`, where the OAuth callback sends the browser back: the page ' +
        'then uses the token it saved before going to Calendly.',
      security: [{ queryToken: [] }, { bearerAuth: [] }],
      responses: {
        200: textAnswer('text/html', 'The page.'),
        401: {
          description: 'No valid API token: an HTML hint for a browser, else JSON.',
          content: { 'text/html': { schema: z.string() }, 'application/json': { schema: errorWith(['unauthorized']) } },
        },
      },
    },
  },
  '/api/dashboard': {
    get: {
      operationId: 'getDashboard',
      tags: ['dashboard'],
      summary: 'What the dashboard shows, in one read',
      description: "A token bound to an organization sees that organization's meetings and deliveries only.",
      security: BEARER_TOKEN,
      requestParams: { query: dashboardQuerySchema },
      responses: {
        200: jsonAnswer('Counts, business counters, upcoming meetings, latest deliveries and failed reminder webhooks.', dashboardSchema),
        400: jsonAnswer('A query parameter is invalid: `error` names it and says why.', errorWith(['invalid_query'])),
        401: UNAUTHORIZED,
      },
    },
  },
  '/dashboard.js': {
    get: { operationId: 'getDashboardScript', tags: ['dashboard'], responses: { 200: textAnswer('application/javascript', "The page's script.") } },
  },
  '/dashboard.css': {
    get: { operationId: 'getDashboardStyle', tags: ['dashboard'], responses: { 200: textAnswer('text/css', "The page's style.") } },
  },
};

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
