/** The read API for frontends: GET /api/leads and GET /api/meetings, paginated, behind a bearer token. */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { FilterQuery } from '@mikro-orm/core';
import { z } from 'zod';
import { emailKeyOf } from '../database/bookings';
import { LeadSchema, type Lead } from '../database/entities/lead';
import { MeetingSchema, type Meeting } from '../database/entities/meeting';
import { requireApiToken } from './bearer-auth';
import type { ReceiverDependencies } from './dependencies';

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};
const leadQuery = z.object({ email: z.string().min(1).optional(), ...page });
const meetingQuery = z.object({
  email: z.string().min(1).optional(),
  status: z.enum(['active', 'canceled']).optional(),
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
    const where: FilterQuery<Lead> = email ? { emailKey: emailKeyOf(email) } : {};
    const [leads, total] = await orm.em.fork().findAndCount(LeadSchema, where, { limit, offset, orderBy: { lastSeenAt: 'desc', id: 'asc' } });
    ctx.body = { data: leads.map(leadJson), pagination: { limit, offset, total } };
  });

  router.get('/meetings', async (ctx) => {
    const query = meetingQuery.safeParse(ctx.query);
    if (!query.success) return badRequest(ctx, query.error);
    const { email, status, startFrom, startTo, limit, offset } = query.data;
    const where: FilterQuery<Meeting> = {
      ...(email ? { lead: { emailKey: emailKeyOf(email) } } : {}),
      ...(status ? { status } : {}),
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
    ctx.body = { data: meetings.map(meetingJson), pagination: { limit, offset, total } };
  });

  return router;
}

function badRequest(ctx: Context, error: z.ZodError): void {
  ctx.status = 400;
  ctx.body = {
    error: error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    code: 'invalid_query',
  };
}

function leadJson(lead: Lead) {
  return {
    id: lead.id,
    email: lead.email,
    name: lead.name,
    firstName: lead.firstName,
    lastName: lead.lastName,
    timezone: lead.timezone,
    phone: lead.phone,
    firstSeenAt: lead.firstSeenAt,
    lastSeenAt: lead.lastSeenAt,
  };
}

function meetingJson(meeting: Meeting) {
  return {
    id: meeting.id,
    inviteeUri: meeting.inviteeUri,
    scheduledEventUri: meeting.scheduledEventUri,
    eventTypeUri: meeting.eventTypeUri,
    name: meeting.name,
    startTime: meeting.startTime,
    endTime: meeting.endTime,
    location: meeting.location,
    status: meeting.status,
    host: { name: meeting.hostName, email: meeting.hostEmail, uri: meeting.hostUri },
    answers: meeting.answers,
    tracking: meeting.tracking,
    cancelUrl: meeting.cancelUrl,
    rescheduleUrl: meeting.rescheduleUrl,
    cancellation: meeting.canceledAt
      ? { canceledAt: meeting.canceledAt, canceledBy: meeting.canceledBy, cancelerType: meeting.cancelerType, reason: meeting.cancelReason }
      : null,
    rescheduled: meeting.rescheduled,
    oldInviteeUri: meeting.oldInviteeUri,
    newInviteeUri: meeting.newInviteeUri,
    bookedAt: meeting.bookedAt,
    lead: { id: meeting.lead.id, email: meeting.lead.email, name: meeting.lead.name },
  };
}
