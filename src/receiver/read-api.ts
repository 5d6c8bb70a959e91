/**
 * The read API for frontends, behind a bearer token: GET /api/leads, GET /api/meetings and GET /api/routing-form-submissions,
 * paginated, and GET /api/business, the business counters and the bookings per day of the dashboard.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { z } from 'zod';
import { businessCounters, meetingValue } from '../database/business-counters';
import type { Meeting } from '../database/entities/meeting';
import { listLeads } from '../database/leads';
import { listMeetings } from '../database/meetings';
import { listRoutingFormSubmissions, routingFormSubmissionView } from '../database/routing-form-submissions';
import { leadView, meetingView } from '../database/views';
import { requireApiToken } from '../auth/api-tokens';
import { answerInvalidQuery, errorAnswers, QUERY_ERRORS } from './api-errors';
import {
  businessQuerySchema,
  businessSchema,
  leadPageSchema,
  leadQuerySchema,
  leadSchema,
  meetingPageSchema,
  meetingQuerySchema,
  meetingSchema,
  routingFormSubmissionPageSchema,
  routingFormSubmissionQuerySchema,
  routingFormSubmissionSchema,
  type ViewOf,
} from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { BEARER_TOKEN, jsonAnswer, UNAUTHORIZED, type ApiPaths } from './openapi';
import { tokenOrganization } from './tenant-scope';

export function readApiRoutes({ orm, config, apiTokens }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(apiTokens));
  // A token bound to an organization sees that organization's meetings, and the leads who booked one there.
  router.get('/leads', pageOf(leadQuerySchema, (filter) => listLeads(orm.em, filter), leadView satisfies ViewOf<typeof leadSchema>));
  router.get(
    '/meetings',
    pageOf(
      meetingQuerySchema,
      (filter) => listMeetings(orm.em, filter),
      ((meeting: Meeting) => ({ ...meetingView(meeting), value: meetingValue(meeting, config.revenue) })) satisfies ViewOf<typeof meetingSchema>,
    ),
  );
  router.get(
    '/routing-form-submissions',
    pageOf(
      routingFormSubmissionQuerySchema,
      (filter) => listRoutingFormSubmissions(orm.em, filter),
      routingFormSubmissionView satisfies ViewOf<typeof routingFormSubmissionSchema>,
    ),
  );
  router.get('/business', async (ctx) => {
    const query = businessQuerySchema.safeParse(ctx.query);
    if (!query.success) return answerInvalidQuery(ctx, query.error);
    const { tz, from, to } = query.data;
    const range = from && to ? { from, to } : undefined;
    ctx.body = (await businessCounters(orm.em, {
      organization: tokenOrganization(ctx),
      timezone: tz,
      now: new Date(),
      range,
      revenue: config.revenue,
    })) satisfies z.output<typeof businessSchema>;
  });
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
  '/api/routing-form-submissions': {
    get: {
      operationId: 'listRoutingFormSubmissions',
      tags: ['read API'],
      summary: 'Routing form submissions, the latest submitted first',
      description: "Booked or not. A token bound to an organization sees that organization's submissions.",
      security: BEARER_TOKEN,
      requestParams: { query: routingFormSubmissionQuerySchema },
      responses: { 200: jsonAnswer('A page of routing form submissions.', routingFormSubmissionPageSchema), ...QUERY_REFUSED, 401: UNAUTHORIZED },
    },
  },
  '/api/business': {
    get: {
      operationId: 'getBusiness',
      tags: ['read API'],
      summary: 'Business counters and revenue, and bookings per day',
      description:
        "A token bound to an organization sees that organization's figures. Revenue is per currency, never converted: a meeting is worth its " +
        "invitee's successful Calendly payment, else `REVENUE_BY_EVENT_TYPE` or `REVENUE_PER_BOOKING` in `REVENUE_CURRENCY`.",
      security: BEARER_TOKEN,
      requestParams: { query: businessQuerySchema },
      responses: { 200: jsonAnswer('The figures of today, the last 7 and 30 days and the chosen period, and a period day by day.', businessSchema), ...QUERY_REFUSED, 401: UNAUTHORIZED },
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
