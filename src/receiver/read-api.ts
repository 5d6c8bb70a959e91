/** The read API for frontends: GET /api/leads and GET /api/meetings, paginated, behind a bearer token. */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import { listLeads } from '../database/leads';
import { listMeetings } from '../database/meetings';
import { leadView, meetingView } from '../database/views';
import type { ApiToken } from '../config';
import { requireApiToken } from '../auth/api-tokens';
import type { ReceiverDependencies } from './dependencies';

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
/** Free text goes to PostgreSQL, which refuses the NUL character: refused here with a 400, not a 500 from below. */
const text = z
  .string()
  .min(1)
  .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character');
const leadQuery = z.object({ email: text.optional(), ...page });
const meetingQuery = z.object({
  email: text.optional(),
  status: z.enum(['active', 'canceled', 'rescheduled']).optional(),
  noShow: z.enum(['true', 'false']).transform((value) => value === 'true').optional(),
  startFrom: instant.optional(),
  startTo: instant.optional(),
  ...page,
});

export function readApiRoutes({ orm, config }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(config.apiTokens));
  // A token bound to an organization sees that organization's meetings, and the leads who booked one there.
  router.get('/leads', pageOf(leadQuery, (filter) => listLeads(orm.em, filter), leadView));
  router.get('/meetings', pageOf(meetingQuery, (filter) => listMeetings(orm.em, filter), meetingView));
  return router;
}

/** A paginated list: the query validated (400 otherwise), scoped to the token's organization, as `{data, pagination}`. */
function pageOf<Query extends { limit: number; offset: number }, Row>(
  schema: z.ZodType<Query>,
  list: (filter: Query & { organization: string | undefined }) => Promise<[Row[], number]>,
  view: (row: Row) => unknown,
): Middleware {
  return async (ctx) => {
    const query = schema.safeParse(ctx.query);
    if (!query.success) return badRequest(ctx, query.error);
    const [rows, total] = await list({ ...query.data, organization: organizationOf(ctx) });
    ctx.body = { data: rows.map(view), pagination: { limit: query.data.limit, offset: query.data.offset, total } };
  };
}

function organizationOf(ctx: Context): string | undefined {
  return (ctx.state as { apiToken?: ApiToken }).apiToken?.organization;
}

function badRequest(ctx: Context, error: z.ZodError): void {
  ctx.status = 400;
  ctx.body = {
    error: error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    code: 'invalid_query',
  };
}
