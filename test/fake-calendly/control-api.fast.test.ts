import { z } from 'zod';
import { inviteeSchema, scheduledEventSchema, webhookEnvelopeSchema } from '../../src/calendly/schemas';
import { verifySignature } from '../../src/calendly/signature';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { call, startReceiver, subscribe, TOKEN, type Receiver } from './helpers';

const booked = z.object({ event: scheduledEventSchema, invitee: inviteeSchema });

let fake: FakeCalendly;
let receiver: Receiver;

beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: TOKEN });
  receiver = await startReceiver();
});

afterEach(async () => {
  await fake.close();
  await receiver.close();
});

/** The controls need no token. */
const control = (path: string, body?: unknown) =>
  call(fake, `/_fake${path}`, { method: body === undefined ? 'GET' : 'POST', body, token: null });

describe('/_fake control API', () => {
  it('books, reschedules and cancels over HTTP, delivering webhooks like the in-process API', async () => {
    await subscribe(fake, receiver.url, ['invitee.created', 'invitee.canceled'], { signing_key: 'k' });

    const booking = await control('/bookings', { email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    expect(booking.status).toBe(201);
    const { event, invitee } = booked.parse(booking.body);
    expect((await call(fake, event.uri)).status).toBe(200);

    const rescheduled = await control('/invitees/reschedule', { inviteeUri: invitee.uri, startTime: '2026-03-11T14:00:00Z' });
    expect(rescheduled.status).toBe(200);
    const { newInvitee } = z.object({ newInvitee: inviteeSchema }).parse(rescheduled.body);
    expect(newInvitee.old_invitee).toBe(invitee.uri);

    const canceled = await control('/invitees/cancel', { inviteeUri: newInvitee.uri, reason: 'No longer needed' });
    expect(canceled.status).toBe(200);
    expect(booked.parse(canceled.body).invitee).toMatchObject({ status: 'canceled', cancellation: { reason: 'No longer needed' } });

    const log = z.object({ deliveries: z.array(z.object({ event: z.string(), status: z.number() })) });
    const { deliveries } = log.parse((await control('/deliveries')).body);
    expect(deliveries.map(({ event: name, status }) => `${name} ${status}`)).toEqual([
      'invitee.created 200',
      'invitee.canceled 200',
      'invitee.created 200',
      'invitee.canceled 200',
    ]);
    expect(receiver.received).toHaveLength(4);
  });

  it('books a paid meeting: the invitee, its payload and its replacement carry the payment as Calendly documents it', async () => {
    await subscribe(fake, receiver.url, ['invitee.created'], { signing_key: 'k' });
    const booking = await control('/bookings', { email: 'p@example.com', startTime: '2026-03-10T14:00:00Z', payment: { amount: 49.9, currency: 'EUR' } });
    expect(booking.status).toBe(201);
    const { invitee } = booked.parse(booking.body);
    const payment = { external_id: expect.stringMatching(/^ch_/), provider: 'stripe', amount: 49.9, currency: 'EUR', terms: null, successful: true };
    expect(invitee.payment).toEqual(payment);
    const read = await call(fake, invitee.uri);
    expect(inviteeSchema.parse((read.body as { resource: unknown }).resource).payment).toEqual(invitee.payment);
    const delivered = webhookEnvelopeSchema.parse(JSON.parse(receiver.received[0].rawBody.toString()));
    expect(delivered.payload.payment).toEqual(invitee.payment);

    const { newInvitee } = await fake.rescheduleInvitee(invitee.uri, { startTime: '2026-03-11T14:00:00Z' }, { deliver: false });
    expect(newInvitee.payment).toEqual(invitee.payment);

    const paypal = await fake.bookMeeting({ email: 'q@example.com', startTime: '2026-03-10T15:00:00Z', payment: { amount: '120.50', currency: 'GBP', provider: 'paypal', successful: false } });
    expect(paypal.invitee.payment).toMatchObject({ provider: 'paypal', amount: '120.50', currency: 'GBP', successful: false });
    const unpaid = await fake.bookMeeting({ email: 'r@example.com', startTime: '2026-03-10T16:00:00Z' });
    expect(unpaid.invitee.payment).toBeNull();

    const refused = await control('/bookings', { email: 'p@example.com', startTime: '2026-03-10T14:00:00Z', payment: { amount: 5, currency: 'XYZ' } });
    expect(refused).toMatchObject({ status: 400, body: { details: [expect.objectContaining({ parameter: 'payment.currency' })] } });
  });

  it('disables a subscription', async () => {
    const subscription = await subscribe(fake, receiver.url, ['invitee.created']);
    const response = await control('/subscriptions/disable', { uri: subscription.uri });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ resource: { uri: subscription.uri, state: 'disabled' } });
    expect(fake.subscriptions()[0]?.state).toBe('disabled');
  });

  it('builds a signed delivery for a script to send', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const response = await control('/webhook-deliveries', { event: 'invitee.created', inviteeUri: invitee.uri, signingKey: 'k' });
    const { body, signature } = z.object({ body: z.string(), signature: z.string() }).parse(response.body);
    expect(webhookEnvelopeSchema.parse(JSON.parse(body)).event).toBe('invitee.created');
    const nowSeconds = Math.floor(Date.now() / 1000);
    expect(verifySignature(Buffer.from(body), signature, { signingKeys: ['k'], toleranceSeconds: 180, nowSeconds })).toBe('valid');
  });

  it('answers 400 for an invalid body and 404 for an unknown invitee', async () => {
    const invalid = await control('/bookings', { email: 'a@example.com', startTime: 'tomorrow' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ title: 'Invalid Argument', details: [expect.objectContaining({ parameter: 'startTime' })] });

    const unknown = await control('/invitees/cancel', {
      inviteeUri: `${fake.url}/scheduled_events/00000000-0000-4000-8000-000000000000/invitees/00000000-0000-4000-8000-000000000001`,
    });
    expect(unknown.status).toBe(404);
  });
});
