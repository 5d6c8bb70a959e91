import {
  inviteePayloadSchema,
  inviteeSchema,
  legacyEnvelopeSchema,
  resourceOf,
  scheduledEventSchema,
  uuidOf,
  webhookEnvelopeSchema,
} from '../../src/calendly/schemas';
import { verifySignature } from '../../src/calendly/signature';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { CALENDLY_TIMESTAMP, call, TOKEN } from './helpers';

let fake: FakeCalendly;

beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: TOKEN });
});

afterEach(async () => {
  await fake.close();
});

const fetchInvitee = async (uri: string) => resourceOf(inviteeSchema).parse((await call(fake, uri)).body).resource;
const fetchEvent = async (uri: string) => resourceOf(scheduledEventSchema).parse((await call(fake, uri)).body).resource;

describe('bookMeeting', () => {
  it('produces a realistic one-on-one booking hosted by the organization user', async () => {
    const { event, invitee, deliveries } = await fake.bookMeeting({
      email: 'ana.lopez@example.com',
      firstName: 'Ana',
      lastName: 'López',
      startTime: '2026-03-10T14:00:00Z',
      endTime: '2026-03-10T15:00:00Z',
      timezone: 'Europe/Madrid',
      eventTypeName: 'Discovery Call',
      textReminderNumber: '+34 600 000 000',
      questionsAndAnswers: [
        { question: 'Company', answer: 'Acme' },
        { question: 'Team size', answer: '11-50' },
      ],
    });
    expect(deliveries).toEqual([]);
    expect(event).toMatchObject({
      name: 'Discovery Call',
      status: 'active',
      start_time: '2026-03-10T14:00:00.000000Z',
      end_time: '2026-03-10T15:00:00.000000Z',
      invitees_counter: { total: 1, active: 1, limit: 1 },
      event_memberships: [expect.objectContaining({ user: fake.userUri })],
      event_guests: [],
      location: { type: 'zoom', status: 'pushed', join_url: expect.stringMatching(/^https:\/\/.*zoom\.us\//) },
    });
    expect(invitee).toMatchObject({
      name: 'Ana López',
      first_name: 'Ana',
      last_name: 'López',
      timezone: 'Europe/Madrid',
      text_reminder_number: '+34 600 000 000',
      questions_and_answers: [
        { question: 'Company', answer: 'Acme', position: 0 },
        { question: 'Team size', answer: '11-50', position: 1 },
      ],
    });
  });

  it('adds invitees to an existing event as a group event, raising invitees_counter', async () => {
    const first = await fake.bookMeeting({ email: 'one@example.com', startTime: '2026-03-10T14:00:00Z' });
    const second = await fake.bookMeeting({ email: 'two@example.com', startTime: '2026-03-10T14:00:00Z', eventUri: first.event.uri });
    const third = await fake.bookMeeting({ email: 'three@example.com', startTime: '2026-03-10T14:00:00Z', eventUri: first.event.uri });

    expect(second.event.uri).toBe(first.event.uri);
    expect(third.invitee.event).toBe(first.event.uri);
    expect(third.event.invitees_counter).toMatchObject({ total: 3, active: 3 });
    expect(third.event.invitees_counter.limit).toBeGreaterThanOrEqual(3);

    const canceled = await fake.cancelInvitee(second.invitee.uri);
    expect(canceled.event.status).toBe('active');
    expect(canceled.event).not.toHaveProperty('cancellation');
    expect(canceled.event.invitees_counter).toMatchObject({ total: 3, active: 2 });
    expect((await fetchEvent(first.event.uri)).invitees_counter).toMatchObject({ total: 3, active: 2 });
  });

  it('refuses to join a group event at a different start time', async () => {
    const { event } = await fake.bookMeeting({ email: 'one@example.com', startTime: '2026-03-10T14:00:00Z' });
    await expect(
      fake.bookMeeting({ email: 'two@example.com', startTime: '2026-03-10T15:00:00Z', eventUri: event.uri }),
    ).rejects.toThrow(/start_time/);
  });
});

describe('cancelInvitee', () => {
  it('cancels a one-on-one invitee and its event, with the cancellation on both', async () => {
    const { event, invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const result = await fake.cancelInvitee(invitee.uri, { reason: 'Conflict', cancelerType: 'host' });

    const cancellation = {
      canceled_by: 'Jordan Avery',
      reason: 'Conflict',
      canceler_type: 'host',
      created_at: expect.stringMatching(CALENDLY_TIMESTAMP),
    };
    expect(result.invitee).toMatchObject({ status: 'canceled', rescheduled: false, new_invitee: null, cancellation });
    expect(result.event).toMatchObject({
      status: 'canceled',
      cancellation,
      invitees_counter: { total: 1, active: 0, limit: 1 },
    });
    expect(await fetchInvitee(invitee.uri)).toEqual(result.invitee);
    expect(await fetchEvent(event.uri)).toEqual(result.event);
    await expect(fake.cancelInvitee(invitee.uri)).rejects.toThrow(/already canceled/);
  });

  it("names the invitee as canceler by default", async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', name: 'Kim Lee', startTime: '2026-03-10T14:00:00Z' });
    const { invitee: canceled } = await fake.cancelInvitee(invitee.uri);
    expect(canceled.cancellation).toMatchObject({ canceled_by: 'Kim Lee', reason: null, canceler_type: 'invitee' });
  });
});

describe('rescheduleInvitee', () => {
  it('cancels the old invitee as rescheduled and books a new invitee on a new event', async () => {
    const booked = await fake.bookMeeting({
      email: 'a@example.com',
      startTime: '2026-03-10T14:00:00Z',
      questionsAndAnswers: [{ question: 'Company', answer: 'Acme' }],
      tracking: { utm_campaign: 'spring' },
    });
    const { oldInvitee, oldEvent, newEvent, newInvitee } = await fake.rescheduleInvitee(booked.invitee.uri, {
      startTime: '2026-03-12T09:00:00Z',
    });

    expect(oldInvitee).toMatchObject({
      uri: booked.invitee.uri,
      status: 'canceled',
      rescheduled: true,
      new_invitee: newInvitee.uri,
      old_invitee: null,
      cancellation: expect.objectContaining({ canceler_type: 'invitee' }),
    });
    expect(oldEvent).toMatchObject({ uri: booked.event.uri, status: 'canceled' });

    expect(uuidOf(newEvent.uri)).not.toBe(uuidOf(booked.event.uri));
    expect(newEvent).toMatchObject({
      status: 'active',
      start_time: '2026-03-12T09:00:00.000000Z',
      end_time: '2026-03-12T09:30:00.000000Z',
      event_type: booked.event.event_type,
      invitees_counter: { total: 1, active: 1, limit: 1 },
    });
    expect(newInvitee).toMatchObject({
      event: newEvent.uri,
      status: 'active',
      rescheduled: false,
      old_invitee: booked.invitee.uri,
      new_invitee: null,
      email: 'a@example.com',
      questions_and_answers: booked.invitee.questions_and_answers,
      tracking: booked.invitee.tracking,
    });
    expect(newInvitee.uri).toBe(`${newEvent.uri}/invitees/${uuidOf(newInvitee.uri)}`);
    expect(newInvitee).not.toHaveProperty('cancellation');

    expect(await fetchInvitee(oldInvitee.uri)).toMatchObject({ status: 'canceled', rescheduled: true, new_invitee: newInvitee.uri });
    expect(await fetchInvitee(newInvitee.uri)).toMatchObject({ status: 'active', old_invitee: oldInvitee.uri });
  });
});

describe('no-shows', () => {
  it('marks and unmarks an invitee as a no-show', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const marked = await fake.markNoShow(invitee.uri);
    expect(marked.invitee.no_show).toEqual({ uri: marked.noShow.uri, created_at: marked.noShow.created_at });
    expect(marked.noShow.invitee).toBe(invitee.uri);
    expect((await call(fake, marked.noShow.uri)).status).toBe(200);

    const unmarked = await fake.unmarkNoShow(invitee.uri);
    expect(unmarked.invitee.no_show).toBeNull();
    expect((await call(fake, marked.noShow.uri)).status).toBe(404);
  });
});

describe('webhookDelivery', () => {
  it('builds the compact signed envelope Calendly sends, with the invitee payload', async () => {
    const { event, invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const t = Math.floor(Date.now() / 1000);
    const { body, signature } = fake.webhookDelivery('invitee.created', invitee.uri, 'signing-key', t);

    expect(body).toBe(JSON.stringify(JSON.parse(body)));
    expect(signature).toMatch(new RegExp(`^t=${t},v1=[0-9a-f]{64}$`));
    const verify = (keys: string[]) =>
      verifySignature(Buffer.from(body), signature, { signingKeys: keys, toleranceSeconds: 180, nowSeconds: t });
    expect(verify(['signing-key'])).toBe('valid');
    expect(verify(['another-key'])).toBe('mismatch');

    const raw = JSON.parse(body) as object;
    expect(Object.keys(raw)).toEqual(['created_at', 'created_by', 'event', 'payload']);
    const envelope = webhookEnvelopeSchema.parse(raw);
    expect(envelope).toMatchObject({ event: 'invitee.created', created_by: fake.userUri });
    expect(envelope.created_at).toMatch(/\.000000Z$/);
    const payload = inviteePayloadSchema.parse(envelope.payload);
    expect(payload.uri).toBe(invitee.uri);
    expect(payload.scheduled_event).toMatchObject({ uri: event.uri, start_time: event.start_time });
    expect(payload.scheduled_event).not.toHaveProperty('calendar_event');
  });

  it('sends no-show events as the invitee payload with no_show set or null', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const { noShow } = await fake.markNoShow(invitee.uri);
    const created = JSON.parse(fake.webhookDelivery('invitee_no_show.created', invitee.uri, 'k').body) as unknown;
    expect(inviteePayloadSchema.parse(webhookEnvelopeSchema.parse(created).payload).no_show?.uri).toBe(noShow.uri);

    await fake.unmarkNoShow(invitee.uri);
    const deleted = JSON.parse(fake.webhookDelivery('invitee_no_show.deleted', invitee.uri, 'k').body) as unknown;
    expect(inviteePayloadSchema.parse(webhookEnvelopeSchema.parse(deleted).payload).no_show).toBeNull();
  });
});

describe('legacyWebhookBody', () => {
  it('renders the retired v1 shape for the same invitee', async () => {
    const { event, invitee } = await fake.bookMeeting({
      email: 'ana@example.com',
      firstName: 'Ana',
      lastName: 'Lopez',
      startTime: '2026-03-10T14:00:00Z',
      questionsAndAnswers: [{ question: 'Company', answer: 'Acme' }],
      tracking: { utm_source: 'ads' },
    });
    const body = JSON.parse(fake.legacyWebhookBody('invitee.created', invitee.uri)) as unknown;
    const legacy = legacyEnvelopeSchema.parse(body);

    expect(legacy.event).toBe('invitee.created');
    expect(legacy).not.toHaveProperty('created_by');
    expect(legacy.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(legacy.payload.event).toMatchObject({
      uuid: uuidOf(event.uri),
      start_time: '2026-03-10T14:00:00Z',
      end_time: '2026-03-10T14:30:00Z',
      location: event.location.join_url,
      canceled: false,
      assigned_to: ['Jordan Avery'],
    });
    expect(legacy.payload.invitee).toMatchObject({
      uuid: uuidOf(invitee.uri),
      email: 'ana@example.com',
      name: 'Ana Lopez',
      first_name: 'Ana',
      last_name: 'Lopez',
      canceled: false,
    });
    expect(legacy.payload).toMatchObject({
      questions_and_answers: [{ question: 'Company', answer: 'Acme' }],
      questions_and_responses: { '1_question': 'Company', '1_response': 'Acme' },
      tracking: invitee.tracking,
      event_type: { name: '30 Minute Meeting', duration: 30, kind: 'One-on-One' },
    });
  });

  it('carries the cancellation of a canceled invitee', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', name: 'Kim Lee', startTime: '2026-03-10T14:00:00Z' });
    await fake.cancelInvitee(invitee.uri, { reason: 'Sick' });
    const legacy = legacyEnvelopeSchema.parse(JSON.parse(fake.legacyWebhookBody('invitee.canceled', invitee.uri)));
    expect(legacy.payload.invitee).toMatchObject({ canceled: true, canceler_name: 'Kim Lee', cancel_reason: 'Sick' });
    expect(legacy.payload.event).toMatchObject({ canceled: true });
  });
});

describe('deleteEvent', () => {
  it('makes the event and its invitees answer 404 and drops it from listings', async () => {
    const { event, invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    fake.deleteEvent(event.uri);
    const notFound = { title: 'Resource Not Found', message: 'The server could not find the requested resource.' };
    expect(await call(fake, event.uri)).toMatchObject({ status: 404, body: notFound });
    expect(await call(fake, invitee.uri)).toMatchObject({ status: 404, body: notFound });
    expect(await call(fake, `${event.uri}/invitees`)).toMatchObject({ status: 404, body: notFound });
    const listing = await call(fake, `/scheduled_events?organization=${encodeURIComponent(fake.organizationUri)}`);
    expect(listing.body).toMatchObject({ collection: [] });
  });
});
