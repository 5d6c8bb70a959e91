import { createServer } from 'node:net';
import {
  inviteePayloadSchema,
  resourceOf,
  webhookEnvelopeSchema,
  webhookSubscriptionSchema,
  type WebhookSubscription,
} from '../../src/calendly/schemas';
import { verifySignature } from '../../src/calendly/signature';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { call, sleep, startReceiver, subscribe, TOKEN, waitFor, type ReceivedRequest, type Receiver } from './helpers';

const SIGNING_KEY = 'receiver-signing-key';
const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 40, windowMs: 5000 };

let fake: FakeCalendly;
let receiver: Receiver;

afterEach(async () => {
  await fake.close();
  await receiver.close();
});

const envelopeOf = (rawBody: Buffer) => webhookEnvelopeSchema.parse(JSON.parse(rawBody.toString('utf8')));
const subscriptionNamed = (uri: string): WebhookSubscription => {
  const found = fake.subscriptions().find((subscription) => subscription.uri === uri);
  if (!found) throw new Error(`no subscription ${uri}`);
  return found;
};
const verify = (request: ReceivedRequest, signingKey = SIGNING_KEY) =>
  verifySignature(request.rawBody, request.headers['calendly-webhook-signature'] as string | undefined, {
    signingKeys: [signingKey],
    toleranceSeconds: 180,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
const booking = { email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' };

describe('delivering to a healthy receiver', () => {
  beforeEach(async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: FAST_RETRY });
    receiver = await startReceiver();
  });

  it('POSTs compact JSON signed over the exact bytes with the subscription key', async () => {
    const subscription = await subscribe(fake, receiver.url, ['invitee.created'], { signing_key: SIGNING_KEY });
    const { invitee, event, deliveries } = await fake.bookMeeting(booking);

    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request.headers['content-type']).toBe('application/json');
    const header = request.headers['calendly-webhook-signature'];
    expect(verify(request)).toBe('valid');
    expect(verify(request, 'another-key')).toBe('mismatch');

    const text = request.rawBody.toString('utf8');
    expect(text).toBe(JSON.stringify(JSON.parse(text)));
    const envelope = envelopeOf(request.rawBody);
    expect(envelope).toMatchObject({ event: 'invitee.created', created_by: fake.userUri });
    const payload = inviteePayloadSchema.parse(envelope.payload);
    expect(payload).toMatchObject({ uri: invitee.uri, status: 'active', scheduled_event: { uri: event.uri } });

    expect(deliveries).toEqual([
      {
        subscriptionUri: subscription.uri,
        url: receiver.url,
        event: 'invitee.created',
        status: 200,
        attempt: 1,
        at: expect.any(String),
        body: text,
        signature: header,
      },
    ]);
    expect(fake.deliveryLog()).toEqual(deliveries);
    expect(subscriptionNamed(subscription.uri)).toMatchObject({ state: 'active', retry_started_at: null });
  });

  it('sends no signature header for a subscription without a signing key', async () => {
    await subscribe(fake, receiver.url, ['invitee.created']);
    const { deliveries } = await fake.bookMeeting(booking);
    expect(receiver.received[0]?.headers).not.toHaveProperty('calendly-webhook-signature');
    expect(deliveries[0]?.signature).toBeNull();
  });

  it('delivers only to active subscriptions listing the event, and not with deliver: false', async () => {
    await subscribe(fake, receiver.url, ['invitee.canceled'], { signing_key: SIGNING_KEY });
    const { invitee } = await fake.bookMeeting(booking);
    expect(receiver.received).toHaveLength(0);

    await fake.cancelInvitee(invitee.uri);
    expect(receiver.received.map((request) => envelopeOf(request.rawBody).event)).toEqual(['invitee.canceled']);

    const quiet = await fake.bookMeeting({ ...booking, startTime: '2026-03-11T14:00:00Z' });
    const result = await fake.cancelInvitee(quiet.invitee.uri, {}, { deliver: false });
    expect(result.deliveries).toEqual([]);
    expect(receiver.received).toHaveLength(1);
  });

  it('sends user-scope subscriptions only the events their user hosts', async () => {
    await subscribe(fake, receiver.url, ['invitee.created'], { scope: 'user', user: fake.userUri });
    await fake.bookMeeting({ ...booking, host: { name: 'Sam Rivera', email: 'sam@example.com' } });
    expect(receiver.received).toHaveLength(0);
    await fake.bookMeeting(booking);
    expect(receiver.received).toHaveLength(1);
  });

  it('sends both reschedule deliveries, canceled first by default or created first on request', async () => {
    await subscribe(fake, receiver.url, ['invitee.created', 'invitee.canceled'], { signing_key: SIGNING_KEY });
    const { invitee } = await fake.bookMeeting(booking);
    receiver.received.length = 0;

    const moved = await fake.rescheduleInvitee(invitee.uri, { startTime: '2026-03-12T14:00:00Z' });
    const [canceled, created] = receiver.received.map((request) => envelopeOf(request.rawBody));
    expect(canceled?.event).toBe('invitee.canceled');
    expect(inviteePayloadSchema.parse(canceled?.payload)).toMatchObject({
      uri: invitee.uri,
      status: 'canceled',
      rescheduled: true,
      new_invitee: moved.newInvitee.uri,
      cancellation: expect.any(Object),
    });
    expect(created?.event).toBe('invitee.created');
    expect(inviteePayloadSchema.parse(created?.payload)).toMatchObject({
      uri: moved.newInvitee.uri,
      status: 'active',
      old_invitee: invitee.uri,
      rescheduled: false,
      scheduled_event: { uri: moved.newEvent.uri },
    });

    receiver.received.length = 0;
    await fake.rescheduleInvitee(moved.newInvitee.uri, { startTime: '2026-03-13T14:00:00Z' }, { order: 'created-first' });
    expect(receiver.received.map((request) => envelopeOf(request.rawBody).event)).toEqual(['invitee.created', 'invitee.canceled']);
  });

  it('delivers invitee_no_show.created when a no-show is created through the REST API', async () => {
    await subscribe(fake, receiver.url, ['invitee_no_show.created', 'invitee_no_show.deleted'], { signing_key: SIGNING_KEY });
    const { invitee } = await fake.bookMeeting(booking);
    const created = await call(fake, '/invitee_no_shows', { method: 'POST', body: { invitee: invitee.uri } });
    expect(created.status).toBe(201);
    await waitFor(() => receiver.received.length === 1, 'the no-show delivery');
    const envelope = envelopeOf(receiver.received[0].rawBody);
    expect(envelope.event).toBe('invitee_no_show.created');
    expect(inviteePayloadSchema.parse(envelope.payload).no_show).not.toBeNull();

    const { deliveries } = await fake.unmarkNoShow(invitee.uri);
    expect(deliveries.map((delivery) => delivery.event)).toEqual(['invitee_no_show.deleted']);
    expect(inviteePayloadSchema.parse(envelopeOf(receiver.received[1].rawBody).payload).no_show).toBeNull();
  });

  it('stops delivering to a subscription disabled by disableSubscription', async () => {
    const subscription = await subscribe(fake, receiver.url, ['invitee.created'], { signing_key: SIGNING_KEY });
    fake.disableSubscription(subscription.uri);
    const disabled = subscriptionNamed(subscription.uri);
    expect(disabled.state).toBe('disabled');
    expect(disabled.retry_started_at).not.toBeNull();
    expect(resourceOf(webhookSubscriptionSchema).parse((await call(fake, subscription.uri)).body).resource.state).toBe('disabled');

    const { deliveries } = await fake.bookMeeting(booking);
    expect(deliveries).toEqual([]);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('delivering to a failing receiver', () => {
  it('retries with back-off, re-signing each attempt, and clears retry_started_at once delivered', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: FAST_RETRY });
    receiver = await startReceiver((index) => ({ status: index < 2 ? 500 : 200 }));
    const subscription = await subscribe(fake, receiver.url, ['invitee.created'], { signing_key: SIGNING_KEY });

    const { deliveries } = await fake.bookMeeting(booking);
    expect(deliveries).toMatchObject([{ status: 500, attempt: 1 }]);
    expect(subscriptionNamed(subscription.uri).retry_started_at).not.toBeNull();

    await waitFor(() => receiver.received.length === 3, 'two retries');
    await waitFor(() => fake.deliveryLog().length === 3, 'the third attempt to be logged');
    expect(fake.deliveryLog().map(({ status, attempt }) => ({ status, attempt }))).toEqual([
      { status: 500, attempt: 1 },
      { status: 500, attempt: 2 },
      { status: 200, attempt: 3 },
    ]);
    const bodies = new Set(receiver.received.map((request) => request.rawBody.toString('utf8')));
    expect(bodies.size).toBe(1);
    expect(receiver.received.map((request) => verify(request))).toEqual(['valid', 'valid', 'valid']);
    expect(subscriptionNamed(subscription.uri)).toMatchObject({ state: 'active', retry_started_at: null });
  });

  it('disables the subscription when the retry window passes without success', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: { initialDelayMs: 10, maxDelayMs: 40, windowMs: 300 } });
    receiver = await startReceiver(() => ({ status: 503 }));
    const subscription = await subscribe(fake, receiver.url, ['invitee.created'], { signing_key: SIGNING_KEY });

    await fake.bookMeeting(booking);
    await waitFor(() => subscriptionNamed(subscription.uri).state === 'disabled', 'the subscription to be disabled');

    const disabled = subscriptionNamed(subscription.uri);
    expect(disabled.retry_started_at).not.toBeNull();
    const attempts = fake.deliveryLog();
    expect(attempts.length).toBeGreaterThan(3);
    expect(attempts.map((attempt) => attempt.attempt)).toEqual(attempts.map((_attempt, index) => index + 1));
    const gaps = attempts.slice(1).map((attempt, index) => Date.parse(attempt.at) - Date.parse(attempts[index].at));
    const backOff = [10, 20, 40, 40];
    backOff.forEach((delay, index) => expect(gaps[index]).toBeGreaterThanOrEqual(delay - 1));
    const lastAttemptAt = Date.parse(attempts.at(-1)!.at);
    expect(lastAttemptAt - Date.parse(disabled.retry_started_at!)).toBeGreaterThanOrEqual(290);

    await sleep(100);
    expect(fake.deliveryLog()).toHaveLength(attempts.length);
    expect((await fake.bookMeeting({ ...booking, startTime: '2026-03-11T14:00:00Z' })).deliveries).toEqual([]);
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: { initialDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 600_000 } });
    receiver = await startReceiver(() => ({ status: 302, headers: { Location: 'https://example.com/elsewhere' } }));
    const subscription = await subscribe(fake, receiver.url, ['invitee.created']);

    const { deliveries } = await fake.bookMeeting(booking);
    expect(deliveries).toMatchObject([{ status: 302, attempt: 1 }]);
    expect(receiver.received).toHaveLength(1);
    expect(subscriptionNamed(subscription.uri).retry_started_at).not.toBeNull();
  });

  it('deletes the subscription at once, without a retry, when its URL answers 410 Gone', async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: FAST_RETRY });
    receiver = await startReceiver(() => ({ status: 410 }));
    const subscription = await subscribe(fake, receiver.url, ['invitee.created']);

    const { deliveries } = await fake.bookMeeting(booking);
    expect(deliveries).toMatchObject([{ status: 410, attempt: 1 }]);
    expect(fake.subscriptions().find((candidate) => candidate.uri === subscription.uri)).toBeUndefined();
    await sleep(100);
    expect(receiver.received).toHaveLength(1);
  });

  it("logs 'network-error' when the receiver cannot be reached", async () => {
    fake = await startFakeCalendly({ apiToken: TOKEN, deliveryRetry: { initialDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 600_000 } });
    receiver = await startReceiver();
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    await subscribe(fake, `http://127.0.0.1:${closedPort}/hook`, ['invitee.created']);

    const { deliveries } = await fake.bookMeeting(booking);
    expect(deliveries).toMatchObject([{ status: 'network-error', attempt: 1 }]);
  });
});
