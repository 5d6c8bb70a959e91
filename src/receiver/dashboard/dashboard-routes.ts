/**
 * The live dashboard. GET / serves the page, which holds no data, to anyone: it is opened as `/#token=<token>`, a
 * fragment the browser never sends, and uses that token for GET /api/dashboard (its data) and to buy its websocket's
 * ticket (POST /api/ws-ticket), so that the token never travels in a URL.
 * The page's script and style are static files, which lets the page forbid inline scripts: it shows names and
 * answers that anyone who books can choose.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import { z } from 'zod';
import { requireApiToken } from '../../auth/api-tokens';
import { answerInvalidQuery, errorAnswers, QUERY_ERRORS } from '../api-errors';
import { dashboardQuerySchema, dashboardSchema } from '../api-schemas';
import type { ReceiverDependencies } from '../dependencies';
import { BEARER_TOKEN, jsonAnswer, textAnswer, UNAUTHORIZED, type ApiPaths } from '../openapi';
import { tokenOrganization } from '../tenant-scope';
import { readDashboard } from './dashboard-data';

/** Copied next to the compiled code by `npm run build`, which also bundles the page's script there. */
const PUBLIC_DIR = join(__dirname, 'public');
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes({ orm, config, apiTokens }: ReceiverDependencies): Router {
  const page = readFileSync(join(PUBLIC_DIR, 'index.html'));
  const router = new Router();

  router.get('/', (ctx) => {
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.type = 'html';
    ctx.body = page;
  });

  router.get('/api/dashboard', requireApiToken(apiTokens), async (ctx) => {
    const query = dashboardQuerySchema.safeParse(ctx.query);
    if (!query.success) return answerInvalidQuery(ctx, query.error);
    const { tz, from, to } = query.data;
    const periods = { timezone: tz, range: from && to ? { from, to } : undefined };
    ctx.body = (await readDashboard(orm.em, config, tokenOrganization(ctx), periods)) satisfies z.output<typeof dashboardSchema>;
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
        'Opened as a link, `/#token=<token>`: the fragment never reaches a server. The page holds no data; with the token it reads ' +
        '`/api/dashboard` and `/api/connection`, and opens the websocket with a ticket from `/api/ws-ticket`. Back from Calendly, ' +
        'as `/?connection=connected`, it uses the token it saved before going there.',
      responses: {
        200: textAnswer('text/html', 'The page.'),
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
        ...errorAnswers(QUERY_ERRORS, ['invalid_query']),
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
