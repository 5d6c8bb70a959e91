/**
 * Calendly API v2 routes for webhook subscriptions: create, list, get, delete (there is no update). Webhooks need a
 * paid plan; organization scope needs an owner or admin; another organization's subscriptions do not exist for the
 * caller.
 */
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { WEBHOOK_EVENTS, webhookSubscriptionSchema, type WebhookEventName, type WebhookSubscription } from '../src/calendly/schemas';
import { callerIn, isAdmin, isMemberOf, type Caller } from './access';
import type { WebhookDeliveries } from './deliveries';
import { alreadyExists, invalidArgument, notFound, permissionDenied, type ErrorDetail } from './errors';
import type { OAuthServer } from './oauth';
import type { Paginator } from './pagination';
import { QueryReader } from './query';
import { readJsonBody } from './request-body';
import { routingFormsRefused, type RoutingForms } from './routing-forms';
import type { CalendlyStore } from './store';

export interface WebhookSubscriptionsApiDependencies {
  store: CalendlyStore;
  deliveries: WebhookDeliveries;
  paginator: Paginator;
  oauth: OAuthServer | null;
  routingForms: RoutingForms;
}

/** Calendly's 403 on a free (Basic) plan: webhooks need Standard or higher. */
const upgradeRequired = () => permissionDenied('Please upgrade your Calendly account to Standard');

/** A non-admin manages only user-scoped subscriptions for themselves. */
function mayManage(caller: Caller, scope: Scope, user: string | null | undefined): boolean {
  return isAdmin(caller) || (scope === 'user' && user === caller.user.uri);
}

const SCOPES = webhookSubscriptionSchema.shape.scope.options;
type Scope = WebhookSubscription['scope'];

/** Calendly: meeting recaps only for user scope, routing form submissions only for organization scope. */
function scopeProblem(event: WebhookEventName, scope: Scope): string | undefined {
  if (event.startsWith('meeting_recap.') && scope !== 'user') return `${event} requires scope user`;
  if (event === 'routing_form_submission.created' && scope !== 'organization') {
    return `${event} requires scope organization`;
  }
  return undefined;
}

const isHttpUrl = (value: string) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

interface CreateRequest {
  url: string;
  events: WebhookEventName[];
  organization: string;
  scope: Scope;
  user: string | null;
  group: string | null;
  signingKey: string | null;
}

function createRequestOf(body: unknown): CreateRequest {
  const fields: Record<string, unknown> = typeof body === 'object' && body !== null ? { ...body } : {};
  const problems: ErrorDetail[] = [];
  const text = (name: string, required: boolean): string | null => {
    const value = fields[name];
    if (value === undefined || value === null || value === '') {
      if (required) problems.push({ parameter: name, message: 'is missing' });
      return null;
    }
    if (typeof value === 'string') return value;
    problems.push({ parameter: name, message: 'must be a string' });
    return null;
  };

  const url = text('url', true);
  if (url !== null && !isHttpUrl(url)) problems.push({ parameter: 'url', message: 'must be a valid http(s) URL' });
  const organization = text('organization', true);
  const scopeText = text('scope', true);
  const scope = SCOPES.find((candidate) => candidate === scopeText);
  if (scopeText !== null && scope === undefined) {
    problems.push({ parameter: 'scope', message: `must be one of: ${SCOPES.join(', ')}` });
  }
  const user = text('user', scope === 'user');
  const group = text('group', scope === 'group');
  const signingKey = text('signing_key', false);

  const events: WebhookEventName[] = [];
  const rawEvents = fields.events;
  if (rawEvents === undefined || rawEvents === null) problems.push({ parameter: 'events', message: 'is missing' });
  else if (!Array.isArray(rawEvents) || rawEvents.length === 0) {
    problems.push({ parameter: 'events', message: 'must be a non-empty list of events' });
  } else {
    for (const name of rawEvents as unknown[]) {
      const event = WEBHOOK_EVENTS.find((candidate) => candidate === name);
      if (event === undefined) problems.push({ parameter: 'events', message: `${String(name)} is not a valid event` });
      else if (!events.includes(event)) events.push(event);
      const mismatch = event && scope ? scopeProblem(event, scope) : undefined;
      if (mismatch) problems.push({ parameter: 'events', message: mismatch });
    }
  }

  if (problems.length > 0 || url === null || organization === null || scope === undefined) {
    throw invalidArgument(problems);
  }
  return {
    url,
    events,
    organization,
    scope,
    user: scope === 'user' ? user : null,
    group: scope === 'group' ? group : null,
    signingKey,
  };
}

export function webhookSubscriptionsRouter({
  store,
  deliveries,
  paginator,
  oauth,
  routingForms,
}: WebhookSubscriptionsApiDependencies): Router {
  const router = new Router();
  const stored = (caller: Caller, uuid: string | undefined) => {
    const subscription = store.subscriptions.get(uuid ?? '');
    if (subscription?.resource.organization !== caller.organization.uri) throw notFound();
    if (!mayManage(caller, subscription.resource.scope, subscription.resource.user)) {
      throw permissionDenied('You do not have permission to perform this action');
    }
    return subscription;
  };

  router.post('/webhook_subscriptions', async (ctx) => {
    const request = createRequestOf(await readJsonBody(ctx));
    const caller = callerIn(ctx);
    if (request.organization !== caller.organization.uri) throw permissionDenied();
    if (caller.organization.plan === 'free') throw upgradeRequired();
    if (request.events.includes('routing_form_submission.created') && !routingForms.available(caller.organization.uri)) throw routingFormsRefused();
    if (request.user !== null && !isMemberOf(store, caller, request.user)) {
      throw permissionDenied('This user is not in your organization');
    }
    if (!mayManage(caller, request.scope, request.user)) throw permissionDenied('You do not have permission');
    const duplicate = [...store.subscriptions.values()].some(
      ({ resource }) => resource.callback_url === request.url && resource.organization === request.organization,
    );
    if (duplicate) throw alreadyExists('Hook with this url already exists');

    const uuid = randomUUID();
    const now = store.clock.now();
    const resource: WebhookSubscription = {
      uri: store.uriFor('webhook_subscriptions', uuid),
      callback_url: request.url,
      created_at: now,
      updated_at: now,
      retry_started_at: null,
      state: 'active',
      events: request.events,
      scope: request.scope,
      organization: request.organization,
      user: request.user,
      group: request.group,
      creator: caller.user.uri,
    };
    // Without a key of its own, an OAuth app's subscription is signed with the app's key (Calendly: one per app).
    const appKey = caller.via === 'oauth' ? (oauth?.webhookSigningKey ?? null) : null;
    store.subscriptions.set(uuid, { resource, signingKey: request.signingKey ?? appKey });
    ctx.status = 201;
    ctx.body = { resource };
  });

  router.get('/webhook_subscriptions', (ctx) => {
    const query = new URLSearchParams(ctx.querystring);
    const reader = new QueryReader(query);
    const organization = reader.required('organization');
    const scope = reader.required('scope') === undefined ? undefined : reader.oneOf('scope', SCOPES);
    const user = scope === 'user' ? reader.required('user') : undefined;
    const group = scope === 'group' ? reader.required('group') : undefined;
    const sort = reader.oneOf('sort', ['created_at:asc', 'created_at:desc']) ?? 'created_at:asc';
    reader.check();
    const caller = callerIn(ctx);
    if (organization !== caller.organization.uri) throw permissionDenied();
    if (scope !== undefined && !mayManage(caller, scope, user)) throw permissionDenied('You do not have permission');

    const matching = [...store.subscriptions.values()]
      .map(({ resource }) => resource)
      .filter(
        (resource) =>
          resource.organization === organization &&
          resource.scope === scope &&
          (user === undefined || resource.user === user) &&
          (group === undefined || resource.group === group),
      );
    ctx.body = paginator.page(sort === 'created_at:asc' ? matching : [...matching].reverse(), ctx.path, query);
  });

  router.get('/webhook_subscriptions/:uuid', (ctx) => {
    ctx.body = { resource: stored(callerIn(ctx), ctx.params.uuid).resource };
  });

  router.delete('/webhook_subscriptions/:uuid', (ctx) => {
    const subscription = stored(callerIn(ctx), ctx.params.uuid);
    store.subscriptions.delete(ctx.params.uuid ?? '');
    deliveries.stopRetries(subscription);
    ctx.status = 204;
  });

  return router;
}
