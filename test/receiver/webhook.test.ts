/**
 * POST /calendly/webhook end to end: real HTTP into the receiver, the real Temporal dev server, a real worker and the
 * real PostgreSQL, with the fake Calendly API as the only stand-in.
 */
import { signatureFor } from '../../src/calendly/signature';
import { uuidOf } from '../../src/calendly/schemas';
import { LeadSchema } from '../../src/database/entities/lead';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { refusalCounts } from '../../src/database/refusals';
import { deliveryOutcome } from '../support/delivery-outcome';
import { eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

const ROTATED_KEY = 'rotated-signing-key-9876543210';
let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ env: { CALENDLY_WEBHOOK_SIGNING_KEY: `${ROTATED_KEY},${SIGNING_KEY}` } });
});
afterAll(() => system.stop());

const now = () => Math.floor(Date.now() / 1000);
let emailCounter = 0;
const uniqueEmail = () => `lead-${Date.now()}-${++emailCounter}@example.com`;

async function bookedInvitee(overrides: Partial<Parameters<TestSystem['fake']['bookMeeting']>[0]> = {}) {
  const { event, invitee } = await system.fake.bookMeeting(
    { email: uniqueEmail(), name: 'Ada Lovelace', startTime: new Date(Date.now() + 3 * 86_400_000).toISOString(), ...overrides },
    { deliver: false },
  );
  return { event, invitee };
}

async function workflowExists(workflowId: string): Promise<boolean> {
  try {
    await system.temporal.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') return false;
    throw error;
  }
}

async function refusalsOf(reason: string): Promise<number> {
  await system.flushRefusals();
  const counts = await refusalCounts(system.orm.em.fork());
  return counts.filter((count) => count.reason === reason).reduce((sum, { count }) => sum + count, 0);
}

describe('signature check', () => {
  it.each([
    ['signed with an unknown key', (body: string) => signatureFor(body, 'attacker-key-0000', now()), 'signature_mismatch'],
    ['with a timestamp older than 180 s', (body: string) => signatureFor(body, SIGNING_KEY, now() - 181), 'signature_expired'],
    ['with a timestamp in the future', (body: string) => signatureFor(body, SIGNING_KEY, now() + 600), 'signature_future'],
    ['without the signature header', () => null, 'signature_missing'],
    ['with a malformed signature header', () => 'sha256=deadbeef', 'signature_malformed'],
  ])('refuses a delivery %s with 401, starts nothing, writes no delivery row and counts the refusal', async (_case, sign, code) => {
    const { invitee } = await bookedInvitee();
    const { body } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const before = await refusalsOf(code);
    const response = await system.deliver(body, { signature: sign(body) });

    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: expect.any(String), code, trackingId: expect.any(String) });
    expect(await refusalsOf(code)).toBe(before + 1);
    expect(await system.orm.em.fork().count(WebhookDeliverySchema, { id: response.body.trackingId })).toBe(0);
    expect(await workflowExists(`calendly-meeting-${uuidOf(invitee.event)}-${uuidOf(invitee.uri)}`)).toBe(false);
  });

  it('refuses a body altered after signing', async () => {
    const { invitee } = await bookedInvitee();
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const response = await system.deliver(body.replace(invitee.email, 'eve@example.com'), { signature });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('signature_mismatch');
  });

  it('accepts both the new and the old key while a key is rotated', async () => {
    for (const key of [ROTATED_KEY, SIGNING_KEY]) {
      const { invitee } = await bookedInvitee();
      const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, key);
      expect((await system.deliver(body, { signature })).status).toBe(202);
    }
  });
});

describe('request limits', () => {
  it('refuses a body over 1 MiB with 413', async () => {
    const body = JSON.stringify({ event: 'invitee.created', padding: 'x'.repeat(1024 * 1024) });
    const response = await system.deliver(body);
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('payload_too_large');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const response = await system.deliver('event=invitee.created', { contentType: 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('unsupported_media_type');
  });
});

describe('a booking', () => {
  it('becomes a lead and a meeting with every field Calendly gave, when Calendly delivers it', async () => {
    await system.subscribeReceiver();
    const email = uniqueEmail();
    const { event, invitee, deliveries } = await system.fake.bookMeeting({
      email: `  ${email.toUpperCase()}`,
      name: 'Grace Hopper',
      firstName: 'Grace',
      lastName: 'Hopper',
      startTime: '2031-05-06T14:00:00.000000Z',
      endTime: '2031-05-06T14:45:00.000000Z',
      timezone: 'Europe/Berlin',
      eventTypeName: 'Discovery call',
      location: { type: 'physical', location: 'Harbour Office, Pier 4', additional_info: 'Ring twice' },
      questionsAndAnswers: [
        { question: 'Company', answer: 'Navy' },
        { question: 'What would you like to discuss?', answer: 'Compilers\nand debugging' },
      ],
      tracking: { utm_source: 'newsletter', utm_campaign: 'spring', utm_medium: 'email' },
      textReminderNumber: '+1 404-555-1234',
      host: { name: 'Host Person', email: 'host@example.com' },
    });
    expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);

    // The booking's one workflow is its meeting's: `calendly-meeting-<event uuid>-<invitee uuid>`.
    const workflowId = `calendly-meeting-${uuidOf(event.uri)}-${uuidOf(invitee.uri)}`;
    const em = system.orm.em.fork();
    await eventually(async () => (await em.fork().findOne(WebhookDeliverySchema, { workflowId, outcome: { $ne: 'processing' } })) ?? undefined);

    const meeting = await em.findOneOrFail(MeetingSchema, { inviteeUri: invitee.uri }, { populate: ['lead'] });
    expect(meeting).toMatchObject({
      scheduledEventUri: event.uri,
      eventTypeUri: event.event_type,
      name: 'Discovery call',
      startTime: new Date('2031-05-06T14:00:00Z'),
      endTime: new Date('2031-05-06T14:45:00Z'),
      location: { type: 'physical', location: 'Harbour Office, Pier 4', additional_info: 'Ring twice' },
      status: 'active',
      hostName: 'Host Person',
      hostEmail: 'host@example.com',
      hostUri: event.event_memberships[0].user,
      answers: [
        { question: 'Company', answer: 'Navy', position: 0 },
        { question: 'What would you like to discuss?', answer: 'Compilers\nand debugging', position: 1 },
      ],
      tracking: { utm_source: 'newsletter', utm_campaign: 'spring', utm_medium: 'email', utm_content: null, utm_term: null, salesforce_uuid: null },
      cancelUrl: invitee.cancel_url,
      rescheduleUrl: invitee.reschedule_url,
      canceledAt: null,
      rescheduled: false,
      bookedAt: new Date(invitee.created_at),
    });
    expect(meeting.lead).toMatchObject({
      email: email.toUpperCase(),
      emailKey: email.toLowerCase(),
      name: 'Grace Hopper',
      firstName: 'Grace',
      lastName: 'Hopper',
      timezone: 'Europe/Berlin',
      phone: '+1 404-555-1234',
      firstSeenAt: new Date(invitee.created_at),
      lastSeenAt: new Date(invitee.created_at),
    });
    const log = await em.findOneOrFail(WebhookDeliverySchema, { workflowId });
    expect(log).toMatchObject({ outcome: 'processed', signature: 'valid', eventType: 'invitee.created', rawBody: null });

    const description = await system.temporal.workflow.getHandle(workflowId).describe();
    expect(description.searchAttributes).toMatchObject({
      CalendlyInviteeEmail: [email.toLowerCase()],
      CalendlyEventUuid: [uuidOf(event.uri)],
      CalendlyDeliveryType: ['invitee.created'],
      MeetingStart: [new Date('2031-05-06T14:00:00Z')],
    });
  });

  it('is stored the same from the retired v1 format, and a later v2 delivery of it is a duplicate', async () => {
    const { invitee } = await bookedInvitee({ questionsAndAnswers: [{ question: 'Phone', answer: '555' }] });
    const legacy = system.fake.legacyWebhookBody('invitee.created', invitee.uri);
    const accepted = await system.deliver(legacy);
    expect(accepted.status).toBe(202);
    expect(accepted.body.workflowId).toBe(`calendly-meeting-${uuidOf(invitee.event)}-${uuidOf(invitee.uri)}`);
    await expect(deliveryOutcome(system, accepted.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });

    const meeting = await system.orm.em.fork().findOneOrFail(MeetingSchema, { inviteeUri: invitee.uri }, { populate: ['lead'] });
    expect(meeting).toMatchObject({ status: 'active', answers: [{ question: 'Phone', answer: '555', position: 0 }] });
    expect(meeting.lead.email).toBe(invitee.email);

    const current = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const again = await system.deliver(current.body, { signature: current.signature });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, workflowId: accepted.body.workflowId } });
  });

  it('arriving 20 times at once starts one workflow and stores one lead and one meeting', async () => {
    const { invitee } = await bookedInvitee();
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const responses = await Promise.all(Array.from({ length: 20 }, () => system.deliver(body, { signature })));

    expect(responses.map((response) => response.status).sort()).toEqual([...Array<number>(19).fill(200), 202]);
    expect(responses.filter((response) => response.body.duplicate === true)).toHaveLength(19);

    const workflowId = responses[0].body.workflowId as string;
    const taken = responses.find((response) => response.status === 202)!;
    await expect(deliveryOutcome(system, taken.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
    const runs = await eventually(async () => {
      let count = 0;
      for await (const _ of system.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) count++;
      return count > 0 ? count : undefined;
    });
    expect(runs).toBe(1);
    const em = system.orm.em.fork();
    expect(await em.count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(1);
    expect(await em.count(LeadSchema, { emailKey: invitee.email.toLowerCase() })).toBe(1);
  });

  it('that Calendly has deleted is recorded as failed, with no meeting and no endless retries', async () => {
    const { event, invitee } = await bookedInvitee();
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    system.fake.deleteEvent(event.uri);
    const response = await system.deliver(body, { signature });
    expect(response.status).toBe(202);

    // With no meeting to keep, the workflow fails (after recording it), as ops see it: see test/workflows/failed-delivery.test.ts.
    await expect(system.temporal.workflow.getHandle(response.body.workflowId).result()).rejects.toMatchObject({
      cause: { type: 'CalendlyResourceNotFound', message: expect.stringContaining('404') },
    });
    const em = system.orm.em.fork();
    expect(await em.count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(0);
    expect(await em.findOneOrFail(WebhookDeliverySchema, { workflowId: response.body.workflowId })).toMatchObject({
      outcome: 'failed',
      detail: expect.stringContaining('Resource Not Found'),
    });
  });

  it('is stored once Calendly recovers from server errors', async () => {
    const { invitee } = await bookedInvitee();
    system.fake.failNext('/scheduled_events', { status: 503, count: 3 });
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const response = await system.deliver(body, { signature });
    expect(response.status).toBe(202);
    await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
    expect(await system.orm.em.fork().count(MeetingSchema, { inviteeUri: invitee.uri })).toBe(1);
  });
});

describe('a signed delivery this system cannot process', () => {
  it('of an event type not handled yet is acknowledged and kept raw for replay', async () => {
    const body = JSON.stringify({
      created_at: '2026-11-24T10:00:00.000000Z',
      created_by: `${system.fake.url}/users/ABC`,
      event: 'event_type.created',
      payload: { uri: `${system.fake.url}/event_types/XYZ`, name: 'Intro call' },
    });
    const response = await system.deliver(body);
    expect(response.status).toBe(202);
    expect(response.body.unprocessed).toMatch(/event_type.created is not handled yet/);

    await system.temporal.workflow.getHandle(response.body.workflowId).result();
    const row = await system.orm.em.fork().findOneOrFail(WebhookDeliverySchema, { workflowId: response.body.workflowId });
    expect(row).toMatchObject({ outcome: 'unprocessed', eventType: 'event_type.created', rawBody: body, signature: 'valid' });

    expect(await system.deliver(body)).toMatchObject({ status: 200, body: { duplicate: true } });
  });

  it('that is not even JSON is acknowledged and kept raw too', async () => {
    const body = '{"event": "invitee.created", "payload": ';
    const response = await system.deliver(body);
    expect(response.status).toBe(202);
    await system.temporal.workflow.getHandle(response.body.workflowId).result();
    const row = await system.orm.em.fork().findOneOrFail(WebhookDeliverySchema, { workflowId: response.body.workflowId });
    expect(row).toMatchObject({ outcome: 'unprocessed', detail: 'body is not valid JSON', rawBody: body });
  });
});
