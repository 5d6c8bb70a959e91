/**
 * `/_fake/*`: the fake's test controls over HTTP (no auth), so a script can drive a running fake.
 * Answers use Calendly's `{title, message, details?}` error form.
 */
import Router from '@koa/router';
import { z } from 'zod';
import { cancellationSchema, locationSchema, PAYMENT_CURRENCIES, paymentSchema, trackingSchema, WEBHOOK_EVENTS } from '../src/calendly/schemas';
import { InvalidOperationError, UnknownRecordError } from './errors';
import { OAuthError } from './oauth';
import { readJsonBody } from './request-body';
import type { FakeCalendly } from './types';

const dateTime = z.iso.datetime({ offset: true });
const deliver = z.boolean().optional();

const bookingRequest = z.object({
  email: z.string().min(1),
  name: z.string().min(1).optional(),
  firstName: z.string().nullable().optional(),
  lastName: z.string().nullable().optional(),
  startTime: dateTime,
  endTime: dateTime.optional(),
  timezone: z.string().optional(),
  eventTypeName: z.string().min(1).optional(),
  location: locationSchema.optional(),
  questionsAndAnswers: z.array(z.object({ question: z.string(), answer: z.string() })).optional(),
  tracking: trackingSchema.partial().optional(),
  textReminderNumber: z.string().nullable().optional(),
  eventUri: z.url().optional(),
  host: z.object({ name: z.string().min(1), email: z.string().min(1) }).optional(),
  hostUri: z.url().optional(),
  organization: z.url().optional(),
  payment: z
    .object({
      amount: paymentSchema.shape.amount,
      currency: z.enum(PAYMENT_CURRENCIES),
      provider: z.enum(['stripe', 'paypal']).optional(),
      successful: z.boolean().optional(),
      terms: z.string().nullable().optional(),
    })
    .optional(),
  deliver,
});

const cancelRequest = z.object({
  inviteeUri: z.url(),
  canceledBy: z.string().min(1).optional(),
  reason: z.string().nullable().optional(),
  cancelerType: cancellationSchema.shape.canceler_type.optional(),
  deliver,
});

const rescheduleRequest = z.object({
  inviteeUri: z.url(),
  startTime: dateTime,
  endTime: dateTime.optional(),
  order: z.enum(['canceled-first', 'created-first']).optional(),
  deliver,
});

const inviteeRequest = z.object({ inviteeUri: z.url(), deliver });
const uriRequest = z.object({ uri: z.url() });
const corruptRequest = z.object({ uri: z.url(), fields: z.record(z.string(), z.unknown()) });

const failNextRequest = z.object({
  pathPrefix: z.string().min(1),
  status: z.union([z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(404), z.literal(401), z.literal(403)]),
  count: z.number().int().positive(),
});

const webhookDeliveryRequest = z.object({
  event: z.enum(WEBHOOK_EVENTS),
  inviteeUri: z.url(),
  signingKey: z.string().min(1),
  t: z.number().int().positive().optional(),
});

const person = z.object({ name: z.string().min(1), email: z.string().min(1) });
const plan = z.enum(['standard', 'free']);
const organizationRequest = z.object({ owner: person, plan: plan.optional() });
const userRequest = person.extend({ organization: z.url(), role: z.enum(['admin', 'user']).optional() });
const planRequest = z.object({ organization: z.url(), plan });
const userUriRequest = z.object({ user: z.url() });
const authorizeRequest = z.object({ authorizeUrl: z.url(), user: z.url() });
const lifetimeRequest = z.object({ seconds: z.number().int().positive() });
const expireRequest = z.object({ user: z.url().optional() });

const routingFormRequest = z.object({
  organization: z.url().optional(),
  formName: z.string().min(1).optional(),
  answers: z.array(z.object({ question: z.string(), answer: z.string() })),
  tracking: trackingSchema.partial().optional(),
  booking: bookingRequest.omit({ organization: true, eventUri: true, deliver: true }).optional(),
  order: z.enum(['submission-first', 'booking-first']).optional(),
  deliver,
});
const routingFormsAvailableRequest = z.object({ organization: z.url(), available: z.boolean() });

const legacyBodyRequest = z.object({ event: z.enum(['invitee.created', 'invitee.canceled']), inviteeUri: z.url() });

export function controlApiRouter(fake: FakeCalendly): Router {
  const router = new Router({ prefix: '/_fake' });

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (error instanceof z.ZodError) {
        ctx.status = 400;
        ctx.body = {
          title: 'Invalid Argument',
          message: 'The supplied parameters are invalid.',
          details: error.issues.map((issue) => ({ parameter: issue.path.join('.'), message: issue.message })),
        };
      } else if (error instanceof UnknownRecordError) {
        ctx.status = 404;
        ctx.body = { title: 'Resource Not Found', message: error.message };
      } else if (error instanceof OAuthError) {
        ctx.status = error.status;
        ctx.body = error.body;
      } else if (error instanceof InvalidOperationError) {
        ctx.status = 409;
        ctx.body = { title: 'Conflict', message: error.message };
      } else {
        throw error;
      }
    }
  });

  router.post('/bookings', async (ctx) => {
    const { deliver: send, ...booking } = bookingRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = await fake.bookMeeting(booking, { deliver: send });
  });

  router.post('/invitees/cancel', async (ctx) => {
    const { inviteeUri, deliver: send, ...cancellation } = cancelRequest.parse(await readJsonBody(ctx));
    ctx.body = await fake.cancelInvitee(inviteeUri, cancellation, { deliver: send });
  });

  router.post('/invitees/reschedule', async (ctx) => {
    const { inviteeUri, startTime, endTime, order, deliver: send } = rescheduleRequest.parse(await readJsonBody(ctx));
    ctx.body = await fake.rescheduleInvitee(inviteeUri, { startTime, endTime }, { order, deliver: send });
  });

  router.post('/invitees/mark-no-show', async (ctx) => {
    const { inviteeUri, deliver: send } = inviteeRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = await fake.markNoShow(inviteeUri, { deliver: send });
  });

  router.post('/invitees/unmark-no-show', async (ctx) => {
    const { inviteeUri, deliver: send } = inviteeRequest.parse(await readJsonBody(ctx));
    ctx.body = await fake.unmarkNoShow(inviteeUri, { deliver: send });
  });

  router.post('/routing-form-submissions', async (ctx) => {
    const { order, deliver: send, ...submission } = routingFormRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = await fake.submitRoutingForm(submission, { order, deliver: send });
  });

  router.post('/organizations/routing-forms', async (ctx) => {
    const { organization, available } = routingFormsAvailableRequest.parse(await readJsonBody(ctx));
    fake.setRoutingFormsAvailable(organization, available);
    ctx.status = 204;
  });

  router.post('/events/delete', async (ctx) => {
    fake.deleteEvent(uriRequest.parse(await readJsonBody(ctx)).uri);
    ctx.status = 204;
  });

  router.post('/records/corrupt', async (ctx) => {
    const { uri, fields } = corruptRequest.parse(await readJsonBody(ctx));
    fake.corruptRecord(uri, fields);
    ctx.status = 204;
  });

  router.get('/subscriptions', (ctx) => {
    ctx.body = { subscriptions: fake.subscriptions() };
  });

  router.post('/subscriptions/disable', async (ctx) => {
    const { uri } = uriRequest.parse(await readJsonBody(ctx));
    fake.disableSubscription(uri);
    ctx.body = { resource: fake.subscriptions().find((subscription) => subscription.uri === uri) };
  });

  router.post('/fail-next', async (ctx) => {
    const { pathPrefix, status, count } = failNextRequest.parse(await readJsonBody(ctx));
    fake.failNext(pathPrefix, { status, count });
    ctx.status = 204;
  });

  router.post('/webhook-deliveries', async (ctx) => {
    const { event, inviteeUri, signingKey, t } = webhookDeliveryRequest.parse(await readJsonBody(ctx));
    ctx.body = fake.webhookDelivery(event, inviteeUri, signingKey, t);
  });

  router.post('/legacy-webhook-bodies', async (ctx) => {
    const { event, inviteeUri } = legacyBodyRequest.parse(await readJsonBody(ctx));
    ctx.type = 'application/json';
    ctx.body = fake.legacyWebhookBody(event, inviteeUri);
  });

  router.get('/deliveries', (ctx) => {
    ctx.body = { deliveries: fake.deliveryLog() };
  });

  router.get('/requests', (ctx) => {
    ctx.body = { requests: fake.requestLog() };
  });

  router.get('/organizations', (ctx) => {
    ctx.body = { organizations: fake.organizations() };
  });

  router.post('/organizations', async (ctx) => {
    const { owner, plan: organizationPlan } = organizationRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = fake.createOrganization({ owner, plan: organizationPlan });
  });

  router.post('/organizations/users', async (ctx) => {
    const { organization, role, ...user } = userRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = { user: fake.addUser(organization, user, role) };
  });

  router.post('/organizations/plan', async (ctx) => {
    const { organization, plan: organizationPlan } = planRequest.parse(await readJsonBody(ctx));
    fake.setPlan(organization, organizationPlan);
    ctx.status = 204;
  });

  router.post('/personal-access-tokens', async (ctx) => {
    const { user } = userUriRequest.parse(await readJsonBody(ctx));
    ctx.status = 201;
    ctx.body = { token: fake.issuePersonalAccessToken(user) };
  });

  router.post('/oauth/authorize', async (ctx) => {
    const { authorizeUrl, user } = authorizeRequest.parse(await readJsonBody(ctx));
    ctx.body = { redirectUrl: fake.authorize(authorizeUrl, user) };
  });

  router.post('/oauth/access-token-lifetime', async (ctx) => {
    fake.setAccessTokenLifetime(lifetimeRequest.parse(await readJsonBody(ctx)).seconds);
    ctx.status = 204;
  });

  router.post('/oauth/expire-access-tokens', async (ctx) => {
    ctx.body = { expired: fake.expireAccessTokens(expireRequest.parse(await readJsonBody(ctx)).user) };
  });

  router.post('/oauth/revoke-grants', async (ctx) => {
    ctx.body = { revoked: fake.revokeGrants(userUriRequest.parse(await readJsonBody(ctx)).user) };
  });

  router.get('/oauth/stats', (ctx) => {
    ctx.body = fake.oauthStats();
  });

  return router;
}
