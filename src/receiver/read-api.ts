/** The read API for frontends: GET /api/leads and GET /api/meetings, paginated, behind a bearer token. */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { FilterQuery } from '@mikro-orm/core';
import { z } from 'zod';
import { emailKeyOf } from '../database/bookings';
import { LeadSchema, type Lead } from '../database/entities/lead';
import { MeetingSchema, type Meeting } from '../database/entities/meeting';
import { leadView, meetingView } from '../database/views';
import type { ApiToken } from '../config';
import { requireApiToken } from '../auth/api-tokens';
import type { ReceiverDependencies } from './dependencies';

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};
const leadQuery = z.object({ email: z.string().min(1).optional(), ...page });
const meetingQuery = z.object({
  email: z.string().min(1).optional(),
  status: z.enum(['active', 'canceled', 'rescheduled']).optional(),
  noShow: z.enum(['true', 'false']).optional(),
  startFrom: z.iso.datetime({ offset: true }).optional(),
  startTo: z.iso.datetime({ offset: true }).optional(),
  ...page,
});

export function readApiRoutes({ orm, config }: ReceiverDependencies): Router {
  const router = new Router({ prefix: '/api' });
  router.use(requireApiToken(config.apiTokens));

  router.get('/leads', async (ctx) => {
    const query = leadQuery.safeParse(ctx.query);
    if (!query.success) return badRequest(ctx, query.error);
    const { email, limit, offset } = query.data;
    const em = orm.em.fork();
    const organization = organizationOf(ctx);
    // A token bound to an organization sees the leads who booked a meeting there.
    const inOrganization = organization
      ? (await em.execute<{ lead_id: string }[]>('select distinct lead_id from meetings where organization = ?', [organization])).map((row) => row.lead_id)
      : undefined;
    const where: FilterQuery<Lead> = {
      ...(email ? { emailKey: emailKeyOf(email) } : {}),
      ...(inOrganization ? { id: { $in: inOrganization } } : {}),
    };
    const [leads, total] = await em.findAndCount(LeadSchema, where, { limit, offset, orderBy: { lastSeenAt: 'desc', id: 'asc' } });
    ctx.body = { data: leads.map(leadView), pagination: { limit, offset, total } };
  });

  router.get('/meetings', async (ctx) => {
    const query = meetingQuery.safeParse(ctx.query);
    if (!query.success) return badRequest(ctx, query.error);
    const { email, status, noShow, startFrom, startTo, limit, offset } = query.data;
    const organization = organizationOf(ctx);
    const where: FilterQuery<Meeting> = {
      ...(organization ? { organization } : {}),
      ...(email ? { lead: { emailKey: emailKeyOf(email) } } : {}),
      ...(status ? { status } : {}),
      ...(noShow ? { noShowAt: noShow === 'true' ? { $ne: null } : null } : {}),
      ...(startFrom || startTo
        ? { startTime: { ...(startFrom ? { $gte: new Date(startFrom) } : {}), ...(startTo ? { $lt: new Date(startTo) } : {}) } }
        : {}),
    };
    const [meetings, total] = await orm.em.fork().findAndCount(MeetingSchema, where, {
      limit,
      offset,
      orderBy: { startTime: 'asc', id: 'asc' },
      populate: ['lead'],
    });
    ctx.body = { data: meetings.map(meetingView), pagination: { limit, offset, total } };
  });

  return router;
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
