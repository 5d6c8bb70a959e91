/**
 * A fake of the Calendly API v2 for tests and local trials: REST API, webhook deliveries and test controls.
 * It reproduces the documented behaviour: the API reference (https://developer.calendly.com/api-docs) and the
 * webhooks guide (https://developer.calendly.com/docs/webhooks/overview: signatures, retries, disabling), and plays
 * auth.calendly.com too (OAuth under /oauth/...). It holds several organizations; each token sees only its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HANDLED_EVENTS, uuidOf, type WebhookEventName } from '../src/calendly/schemas';
import { AccessControl } from './access';
import { controlApiRouter } from './control-api';
import { WebhookDeliveries } from './deliveries';
import { InvalidOperationError } from './errors';
import { FaultInjector } from './fault-injection';
import { createHttpApp } from './http-app';
import { legacyWebhookBody } from './legacy';
import { OAuthServer } from './oauth';
import { Paginator } from './pagination';
import { RateLimiter } from './rate-limit';
import { RoutingForms } from './routing-forms';
import { Scheduling, type Notification } from './scheduling';
import { CalendlyStore } from './store';
import type {
  DeliverOptions,
  DeliveryAttempt,
  DeliveryRetryOptions,
  FakeCalendly,
  FakeCalendlyOptions,
  RequestLogEntry,
} from './types';

export type * from './types';
export { OAuthError } from './oauth';

const DEFAULT_RATE_LIMIT_PER_MINUTE = 500;
const DEFAULT_DELIVERY_RETRY: DeliveryRetryOptions = {
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  windowMs: 24 * 3600_000,
};

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** Records are returned as snapshots: later changes inside the fake do not alter what a caller holds. */
const snapshot = <T>(record: T): T => structuredClone(record);

export async function startFakeCalendly(options: FakeCalendlyOptions): Promise<FakeCalendly> {
  if (!options.apiToken && !options.oauth) throw new TypeError('apiToken or oauth is required');
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const store = new CalendlyStore(url);
  const scheduling = new Scheduling(store);
  const routingForms = new RoutingForms(store);
  const deliveries = new WebhookDeliveries(store, options.deliveryRetry ?? DEFAULT_DELIVERY_RETRY);
  const faults = new FaultInjector(url);
  const requests: RequestLogEntry[] = [];
  const oauth = options.oauth ? new OAuthServer(store, options.oauth) : null;
  const access = new AccessControl(store, oauth);
  if (options.apiToken) access.issuePersonalAccessToken(store.owner.uri, options.apiToken);
  const oauthApp = (): OAuthServer => {
    if (oauth === null) throw new InvalidOperationError('the fake has no OAuth app: start it with the oauth option');
    return oauth;
  };

  /** One event at a time, so a receiver sees them in the given order. */
  const send = async (notifications: Notification[], opts: DeliverOptions | undefined): Promise<DeliveryAttempt[]> => {
    if (opts?.deliver === false) return [];
    const attempts: DeliveryAttempt[] = [];
    for (const notification of notifications) attempts.push(...(await deliveries.deliver(notification)));
    return attempts;
  };

  const fake: FakeCalendly = {
    url,
    organizationUri: store.organizationUri,
    userUri: store.owner.uri,

    async close() {
      await deliveries.close();
      await closeServer(server);
    },

    createOrganization({ owner, plan = 'standard' }) {
      const created = store.addOrganization(plan, owner);
      return { organizationUri: created.organization.uri, owner: snapshot(created.owner) };
    },

    addUser(organizationUri, person, role = 'user') {
      return snapshot(store.addUser(organizationUri, person, role));
    },

    setPlan(organizationUri, plan) {
      store.organization(organizationUri).plan = plan;
    },

    organizations() {
      return [...store.organizations.values()].map(({ uri, plan }) => ({
        uri,
        plan,
        users: store.membersOf(uri).map((user) => ({ user: snapshot(user), role: store.roleOf(user.uri) })),
      }));
    },

    issuePersonalAccessToken(userUri) {
      return access.issuePersonalAccessToken(userUri);
    },

    authorize(authorizeUrl, userUri) {
      const app = oauthApp();
      return app.decide(app.authorizeRequest(new URL(authorizeUrl).searchParams), userUri);
    },

    setAccessTokenLifetime(seconds) {
      oauthApp().setAccessTokenLifetime(seconds);
    },

    expireAccessTokens(userUri) {
      return oauthApp().expireAccessTokens(userUri);
    },

    revokeGrants(userUri) {
      return oauthApp().revokeGrants(userUri);
    },

    oauthStats() {
      return oauthApp().stats();
    },

    async bookMeeting(input, opts) {
      const { event, invitee, notification } = scheduling.book(input);
      const records = { event: snapshot(event), invitee: snapshot(invitee) };
      return { ...records, deliveries: await send([notification], opts) };
    },

    async cancelInvitee(inviteeUri, input, opts) {
      const { event, invitee, notification } = scheduling.cancel(inviteeUri, input);
      const records = { event: snapshot(event), invitee: snapshot(invitee) };
      return { ...records, deliveries: await send([notification], opts) };
    },

    async rescheduleInvitee(inviteeUri, input, opts) {
      const { canceled, created, ...changed } = scheduling.reschedule(inviteeUri, input);
      const records = snapshot(changed);
      const order = opts?.order === 'created-first' ? [created, canceled] : [canceled, created];
      return { ...records, deliveries: await send(order, opts) };
    },

    async markNoShow(inviteeUri, opts) {
      const { invitee, noShow, notification } = scheduling.markNoShow(inviteeUri);
      const records = { invitee: snapshot(invitee), noShow: snapshot(noShow) };
      return { ...records, deliveries: await send([notification], opts) };
    },

    async unmarkNoShow(inviteeUri, opts) {
      const { invitee, notification } = scheduling.unmarkNoShow(inviteeUri);
      const records = { invitee: snapshot(invitee) };
      return { ...records, deliveries: await send([notification], opts) };
    },

    async submitRoutingForm(input, opts) {
      const organization = input.organization ?? store.organizationUri;
      const form = routingForms.formFor(organization, input.formName ?? 'Contact us', input.answers.map((item) => item.question));
      const submission = routingForms.submit(form, input.answers, input.tracking ?? {});
      // Submitted first: the submission's own webhook names no submitter yet unless the booking's webhook went first.
      const submitted = () => (opts?.deliver === false ? Promise.resolve([]) : deliveries.deliverToOrganization(organization, 'routing_form_submission.created', snapshot(submission)));
      if (!input.booking) return { submission: snapshot(submission), booking: null, deliveries: await submitted() };
      const attempts: DeliveryAttempt[] = [];
      if (opts?.order !== 'booking-first') attempts.push(...(await submitted()));
      const { event, invitee } = scheduling.book({ ...input.booking, organization });
      invitee.routing_form_submission = submission.uri;
      routingForms.booked(submission, invitee.uri, event.event_type);
      attempts.push(...(await send([scheduling.notification('invitee.created', invitee)], opts)));
      if (opts?.order === 'booking-first') attempts.push(...(await submitted()));
      return { submission: snapshot(submission), booking: { event: snapshot(event), invitee: snapshot(invitee) }, deliveries: attempts };
    },

    setRoutingFormsAvailable(organizationUri, available) {
      routingForms.setAvailable(organizationUri, available);
    },

    webhookDelivery(event, inviteeUri, signingKey, t) {
      // The handled events are the invitee and no-show ones: the only payloads the fake builds.
      if (!(HANDLED_EVENTS as readonly WebhookEventName[]).includes(event)) {
        throw new InvalidOperationError(`the fake builds invitee and no-show payloads only, not ${event}`);
      }
      return deliveries.signed(scheduling.notification(event, store.invitee(inviteeUri)), signingKey, t);
    },

    legacyWebhookBody(event, inviteeUri) {
      const invitee = store.invitee(inviteeUri);
      const scheduledEvent = store.event(invitee.event);
      return legacyWebhookBody({
        event,
        invitee,
        scheduledEvent,
        eventType: store.eventType(scheduledEvent.event_type),
        hosts: scheduledEvent.event_memberships.map((membership) => store.user(membership.user)),
        time: store.clock.now(),
      });
    },

    failNext(pathPrefix, response) {
      faults.failNext(pathPrefix, response);
    },

    deleteEvent(eventUri) {
      store.removeEvent(eventUri);
    },

    corruptRecord(uri, fields) {
      const record: object = store.invitees.has(uuidOf(uri)) ? store.invitee(uri) : store.event(uri);
      Object.assign(record, fields);
    },

    disableSubscription(subscriptionUri) {
      deliveries.disable(store.subscription(subscriptionUri));
    },

    subscriptions() {
      return [...store.subscriptions.values()].map(({ resource }) => snapshot(resource));
    },

    deliveryLog() {
      return deliveries.log();
    },

    requestLog() {
      return snapshot(requests);
    },
  };

  const app = createHttpApp({
    access,
    oauth,
    store,
    scheduling,
    deliveries,
    paginator: new Paginator(url),
    rateLimiter: new RateLimiter(options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE),
    faults,
    requests,
    controlRouter: controlApiRouter(fake),
    routingForms,
  });
  server.on('request', app.callback());
  return fake;
}
