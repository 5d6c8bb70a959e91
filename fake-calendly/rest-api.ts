/**
 * Calendly API v2 routes for users, scheduled events, invitees and invitee no-shows, answering what the token's
 * user may see: their organization's records (all of them for owners and admins, their own events for others).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { callerIn, canSeeEvent, isAdmin, isMemberOf, type Caller } from './access';
import { inviteeSchema, scheduledEventSchema, type Invitee, type ScheduledEvent } from '../src/calendly/schemas';
import type { WebhookDeliveries } from './deliveries';
import { alreadyExists, invalidArgument, notFound, permissionDenied } from './errors';
import type { Paginator } from './pagination';
import { QueryReader } from './query';
import { readJsonBody } from './request-body';
import type { Scheduling } from './scheduling';
import type { CalendlyStore } from './store';

export interface RestApiDependencies {
  store: CalendlyStore;
  scheduling: Scheduling;
  deliveries: WebhookDeliveries;
  paginator: Paginator;
}

function found<T>(record: T | undefined): T {
  if (record === undefined) throw notFound();
  return record;
}

function sortedByTime<T>(items: T[], key: (item: T) => string, direction: 'asc' | 'desc'): T[] {
  const sorted = [...items].sort((a, b) => Date.parse(key(a)) - Date.parse(key(b)));
  return direction === 'asc' ? sorted : sorted.reverse();
}

const queryOf = (ctx: Context) => new URLSearchParams(ctx.querystring);

/** Calendly's 403 for GET /scheduled_events/{uuid}; the same guard covers the event's invitees and no-shows. */
const eventForbidden = () => permissionDenied('You are not allowed to view this event');

export function restApiRouter({ store, scheduling, deliveries, paginator }: RestApiDependencies): Router {
  const router = new Router();

  const visibleEvent = (caller: Caller, uuid: string | undefined): ScheduledEvent => {
    const event = found(store.events.get(uuid ?? ''));
    if (!canSeeEvent(store, caller, event)) throw eventForbidden();
    return event;
  };
  const visibleInvitee = (caller: Caller, uri: string): Invitee => {
    const invitee = store.invitee(uri);
    if (!canSeeEvent(store, caller, store.event(invitee.event))) throw permissionDenied();
    return invitee;
  };

  router.get('/users/:uuid', (ctx) => {
    const caller = callerIn(ctx);
    const user = ctx.params.uuid === 'me' ? caller.user : found(store.users.get(ctx.params.uuid ?? ''));
    if (!isMemberOf(store, caller, user.uri)) throw permissionDenied();
    ctx.body = { resource: user };
  });

  router.get('/scheduled_events', (ctx) => {
    const query = queryOf(ctx);
    const reader = new QueryReader(query);
    const organization = reader.optional('organization');
    const user = reader.optional('user');
    const status = reader.oneOf('status', scheduledEventSchema.shape.status.options);
    const sort = reader.oneOf('sort', ['start_time:asc', 'start_time:desc']) ?? 'start_time:asc';
    const minStart = reader.time('min_start_time');
    const maxStart = reader.time('max_start_time');
    const inviteeEmail = reader.optional('invitee_email');
    if (organization === undefined && user === undefined && reader.optional('group') === undefined) {
      reader.problem('organization', 'is missing (one of organization, user or group is required)');
    }
    reader.check();
    const caller = callerIn(ctx);
    if (organization !== undefined && organization !== caller.organization.uri) throw permissionDenied();
    if (user !== undefined) {
      if (!isMemberOf(store, caller, user)) throw permissionDenied('This user is not in your organization');
      if (organization === undefined && user !== caller.user.uri) {
        throw permissionDenied('Please also specify organization when requesting events for a user within your organization.');
      }
    }
    // Only owners and admins list the organization or another user's events.
    if (organization !== undefined && !isAdmin(caller) && user !== caller.user.uri) {
      throw permissionDenied('You do not have permission');
    }

    const events = [...store.events.values()].filter((event: ScheduledEvent) => {
      const start = Date.parse(event.start_time);
      return (
        canSeeEvent(store, caller, event) &&
        (user === undefined || event.event_memberships.some((membership) => membership.user === user)) &&
        (status === undefined || event.status === status) &&
        (minStart === undefined || start >= minStart) &&
        (maxStart === undefined || start < maxStart) &&
        (inviteeEmail === undefined || store.inviteesOf(event.uri).some((invitee) => invitee.email === inviteeEmail))
      );
    });
    const direction = sort === 'start_time:asc' ? 'asc' : 'desc';
    ctx.body = paginator.page(sortedByTime(events, (event) => event.start_time, direction), ctx.path, query);
  });

  router.get('/scheduled_events/:uuid', (ctx) => {
    ctx.body = { resource: visibleEvent(callerIn(ctx), ctx.params.uuid) };
  });

  router.get('/scheduled_events/:uuid/invitees', (ctx) => {
    const event = visibleEvent(callerIn(ctx), ctx.params.uuid);
    const query = queryOf(ctx);
    const reader = new QueryReader(query);
    const status = reader.oneOf('status', inviteeSchema.shape.status.options);
    const email = reader.optional('email');
    const sort = reader.oneOf('sort', ['created_at:asc', 'created_at:desc']) ?? 'created_at:asc';
    reader.check();
    const invitees = store
      .inviteesOf(event.uri)
      .filter(
        (invitee: Invitee) =>
          (status === undefined || invitee.status === status) && (email === undefined || invitee.email === email),
      );
    const ordered = sort === 'created_at:asc' ? invitees : [...invitees].reverse();
    ctx.body = paginator.page(ordered, ctx.path, query);
  });

  router.get('/scheduled_events/:eventUuid/invitees/:inviteeUuid', (ctx) => {
    const event = visibleEvent(callerIn(ctx), ctx.params.eventUuid);
    const invitee = found(store.invitees.get(ctx.params.inviteeUuid ?? ''));
    if (invitee.event !== event.uri) throw notFound();
    ctx.body = { resource: invitee };
  });

  router.post('/invitee_no_shows', async (ctx) => {
    const body = await readJsonBody(ctx);
    const inviteeUri = typeof body === 'object' && body !== null && 'invitee' in body ? body.invitee : undefined;
    if (typeof inviteeUri !== 'string' || inviteeUri === '') {
      throw invalidArgument([{ parameter: 'invitee', message: 'is missing' }]);
    }
    if (visibleInvitee(callerIn(ctx), inviteeUri).no_show) throw alreadyExists();
    const { noShow, notification } = scheduling.markNoShow(inviteeUri);
    void deliveries.deliver(notification);
    ctx.status = 201;
    ctx.body = { resource: noShow };
  });

  router.get('/invitee_no_shows/:uuid', (ctx) => {
    const noShow = found(store.noShows.get(ctx.params.uuid ?? ''));
    visibleInvitee(callerIn(ctx), noShow.invitee);
    ctx.body = { resource: noShow };
  });

  router.delete('/invitee_no_shows/:uuid', (ctx) => {
    const noShow = found(store.noShows.get(ctx.params.uuid ?? ''));
    visibleInvitee(callerIn(ctx), noShow.invitee);
    const { notification } = scheduling.unmarkNoShow(noShow.invitee);
    void deliveries.deliver(notification);
    ctx.status = 204;
  });

  return router;
}
