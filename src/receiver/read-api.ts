/** The read API for frontends: GET /api/leads and GET /api/meetings, paginated, behind a bearer token. */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { z } from 'zod';
import { listLeads } from '../database/leads';
import { listMeetings } from '../database/meetings';
import { leadView, meetingView } from '../database/views';
import { requireApiToken } from '../auth/api-tokens';
import { answerInvalidQuery, errorAnswers, QUERY_ERRORS } from './api-errors';
import {
  leadPageSchema,
  leadQuerySchema,
  leadSchema,
  meetingPageSchema,
  meetingQuerySchema,
  meetingSchema,
  type ViewOf,
} from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { BEARER_TOKEN, jsonAnswer, UNAUTHORIZED, type ApiPaths } from './openapi';
import { tokenOrganization } from './tenant-scope';

export function readApiRoutes({ orm, apiTokens }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(apiTokens));
  // A token bound to an organization sees that organization's meetings, and the leads who booked one there.
  router.get('/leads', pageOf(leadQuerySchema, (filter) => listLeads(orm.em, filter), leadView satisfies ViewOf<typeof leadSchema>));
  router.get(
    '/meetings',
    pageOf(meetingQuerySchema, (filter) => listMeetings(orm.em, filter), meetingView satisfies ViewOf<typeof meetingSchema>),
  );
  return router;
}

const QUERY_REFUSED = errorAnswers(QUERY_ERRORS, ['invalid_query']);

export const readApiPaths: ApiPaths = {
  '/api/leads': {
    get: {
      operationId: 'listLeads',
      tags: ['read API'],
      summary: 'Leads, the latest seen first',
      description: 'A token bound to an organization sees the leads who booked with that organization.',
      security: BEARER_TOKEN,
      requestParams: { query: leadQuerySchema },
      responses: { 200: jsonAnswer('A page of leads.', leadPageSchema), ...QUERY_REFUSED, 401: UNAUTHORIZED },
    },
  },
  '/api/meetings': {
    get: {
      operationId: 'listMeetings',
      tags: ['read API'],
      summary: 'Meetings, in start order',
      description: "A token bound to an organization sees that organization's meetings.",
      security: BEARER_TOKEN,
      requestParams: { query: meetingQuerySchema },
      responses: { 200: jsonAnswer('A page of meetings.', meetingPageSchema), ...QUERY_REFUSED, 401: UNAUTHORIZED },
    },
  },
};

/** A paginated list: the query validated (400 otherwise), scoped to the token's organization (all for a token bound to none), as `{data, pagination}`. */
function pageOf<Query extends { limit: number; offset: number }, Row>(
  schema: z.ZodType<Query>,
  list: (filter: Query & { organization: string | undefined }) => Promise<[Row[], number]>,
  view: (row: Row) => unknown,
): Middleware {
  return async (ctx) => {
    const query = schema.safeParse(ctx.query);
    if (!query.success) return answerInvalidQuery(ctx, query.error);
    const [rows, total] = await list({ ...query.data, organization: tokenOrganization(ctx) });
    ctx.body = { data: rows.map(view), pagination: { limit: query.data.limit, offset: query.data.offset, total } };
  };
}
