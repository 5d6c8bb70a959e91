import { parseDelivery, workflowIdFor } from '../../src/deliveries/parse';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let fake: FakeCalendly;
beforeAll(async () => {
  fake = await startFakeCalendly({ apiToken: 'token' });
});
afterAll(() => fake.close());

async function invitee() {
  const booked = await fake.bookMeeting({ email: 'Ada@Example.com', startTime: '2031-01-01T10:00:00.000000Z' }, { deliver: false });
  return booked.invitee;
}

describe('parsing a signed delivery', () => {
  it('reads the current format: invitee payload with its scheduled event', async () => {
    const { uri, event } = await invitee();
    const { body } = fake.webhookDelivery('invitee.created', uri, 'key-12345678');
    const parsed = parseDelivery(Buffer.from(body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    const occurredAt = (JSON.parse(body) as { created_at: string }).created_at;
    expect(parsed).toEqual({
      kind: 'invitee',
      delivery: {
        dedupKey: `invitee.created:${event.split('/').at(-1)}:${uri.split('/').at(-1)}`,
        eventName: 'invitee.created',
        format: 'current',
        scheduledEventUri: event,
        inviteeUri: uri,
        inviteeEmail: 'Ada@Example.com',
        occurredAt,
        connectionId: PERSONAL_TOKEN_CONNECTION_ID,
      },
      eventUuid: event.split('/').at(-1),
      inviteeUuid: uri.split('/').at(-1),
      // Its meeting's workflow is found by the start (MeetingStart) from the first delivery on.
      meetingStart: '2031-01-01T10:00:00.000000Z',
    });
  });

  it("scopes a connection's dedup key by the connection, so the same Calendly ids under two connections never collide", async () => {
    const { uri } = await invitee();
    const { body } = fake.webhookDelivery('invitee.created', uri, 'key-12345678');
    const [first, second] = ['7d4a8f80-3c42-4d0e-9f38-7c3e2f1b0a11', 'f0c8b1a6-9b0e-4c53-8a27-52e1d7a4c9e2'].map((id) => parseDelivery(Buffer.from(body), fake.url, id));
    const personalToken = parseDelivery(Buffer.from(body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    expect(first.delivery.dedupKey).toBe(`7d4a8f80-3c42-4d0e-9f38-7c3e2f1b0a11:${personalToken.delivery.dedupKey}`);
    expect(second.delivery.dedupKey).not.toBe(first.delivery.dedupKey);
    expect(first.delivery.connectionId).toBe('7d4a8f80-3c42-4d0e-9f38-7c3e2f1b0a11');
    const garbage = parseDelivery(Buffer.from('not json'), fake.url, '7d4a8f80-3c42-4d0e-9f38-7c3e2f1b0a11');
    expect(garbage.delivery.dedupKey).toMatch(/^7d4a8f80-3c42-4d0e-9f38-7c3e2f1b0a11:unprocessed:/);
  });

  it('gives the retired v1 format the same dedup key and URIs as the current one', async () => {
    const { uri } = await invitee();
    const current = parseDelivery(Buffer.from(fake.webhookDelivery('invitee.canceled', uri, 'key-12345678').body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    const legacy = parseDelivery(Buffer.from(fake.legacyWebhookBody('invitee.canceled', uri)), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    expect(legacy.kind).toBe('invitee');
    expect(legacy.kind === 'invitee' && legacy.delivery.format).toBe('legacy');
    expect({ ...legacy.delivery, format: 'current', occurredAt: null }).toEqual({ ...current.delivery, occurredAt: null });
  });

  it('keys deliveries per invitee and event type, so group guests and cancels are never collapsed', async () => {
    const first = await invitee();
    const guest = await fake.bookMeeting({ email: 'guest@example.com', startTime: '2031-01-01T10:00:00.000000Z', eventUri: first.event }, { deliver: false });
    const keyOf = (event: 'invitee.created' | 'invitee.canceled', uri: string) =>
      parseDelivery(Buffer.from(fake.webhookDelivery(event, uri, 'key-12345678').body), fake.url, PERSONAL_TOKEN_CONNECTION_ID).delivery.dedupKey;
    const keys = [keyOf('invitee.created', first.uri), keyOf('invitee.created', guest.invitee.uri), keyOf('invitee.canceled', first.uri)];
    expect(new Set(keys).size).toBe(3);
    expect(keyOf('invitee.created', first.uri)).toBe(keys[0]);
  });

  it('reads both no-show payload forms, keyed by when the mark happened so a later re-mark is not a duplicate', async () => {
    const { uri, event } = await invitee();
    await fake.markNoShow(uri, { deliver: false });
    const full = parseDelivery(Buffer.from(fake.webhookDelivery('invitee_no_show.created', uri, 'key-12345678').body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    const minimalBody = JSON.stringify({
      created_at: '2031-01-01T11:00:00.000000Z',
      created_by: 'https://api.calendly.com/users/U',
      event: 'invitee_no_show.created',
      payload: { uri: `${fake.url}/invitee_no_shows/N1`, invitee: uri, created_at: '2031-01-01T11:00:00.000000Z' },
    });
    const minimal = parseDelivery(Buffer.from(minimalBody), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    for (const parsed of [full, minimal]) {
      expect(parsed).toMatchObject({ kind: 'invitee', delivery: { eventName: 'invitee_no_show.created', inviteeUri: uri, scheduledEventUri: event } });
    }
    expect(minimal.delivery).toMatchObject({ inviteeEmail: null, dedupKey: `invitee_no_show.created:${event.split('/').at(-1)}:${uri.split('/').at(-1)}:2031-01-01T11:00:00.000000Z` });
    expect(full.delivery.dedupKey).not.toBe(minimal.delivery.dedupKey);
  });

  it.each([
    ['{"event":', 'body is not valid JSON', null],
    ['{"hello":"world"}', 'not a Calendly webhook envelope', null],
    [
      JSON.stringify({ event: 'event_type.updated', created_at: '2026-01-01T00:00:00.000000Z', created_by: 'https://api.calendly.com/users/U', payload: {} }),
      'event type event_type.updated is not handled yet',
      'event_type.updated',
    ],
    [
      JSON.stringify({ event: 'invitee.created', created_at: '2026-01-01T00:00:00.000000Z', created_by: 'https://api.calendly.com/users/U', payload: { email: 'x' } }),
      'invalid invitee.created payload',
      'invitee.created',
    ],
  ])('keeps %s as unprocessed, saying why', (body, reason, eventName) => {
    const parsed = parseDelivery(Buffer.from(body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    expect(parsed.kind).toBe('unprocessed');
    expect(parsed.delivery).toMatchObject({ reason: expect.stringContaining(reason), eventName, rawBody: body, dedupKey: expect.stringMatching(/^unprocessed:[0-9a-f]{64}$/) });
  });

  it.each([
    [
      'a no-show whose invitee URI has no path',
      { event: 'invitee_no_show.created', created_at: '2026-01-01T00:00:00.000000Z', created_by: 'https://api.calendly.com/users/U', payload: { invitee: 'https://api.calendly.com' } },
      'invitee_no_show.created',
    ],
    [
      'a no-show whose invitee URI names no invitee',
      { event: 'invitee_no_show.created', created_at: '2026-01-01T00:00:00.000000Z', created_by: 'https://api.calendly.com/users/U', payload: { invitee: 'https://api.calendly.com/users/U' } },
      'invitee_no_show.created',
    ],
    [
      'a legacy body with event uuid ..',
      { event: 'invitee.created', time: '2026-01-01T00:00:00Z', payload: { event: { uuid: '..', start_time: 'x', end_time: 'y' }, invitee: { uuid: 'I', email: 'a@example.com', name: 'A' } } },
      'invitee.created',
    ],
    [
      'a legacy body with invitee uuid .',
      { event: 'invitee.created', time: '2026-01-01T00:00:00Z', payload: { event: { uuid: 'E', start_time: 'x', end_time: 'y' }, invitee: { uuid: '.', email: 'a@example.com', name: 'A' } } },
      'invitee.created',
    ],
    [
      'a legacy body whose uuid would make a workflow ID longer than Temporal allows',
      { event: 'invitee.created', time: '2026-01-01T00:00:00Z', payload: { event: { uuid: 'E'.repeat(1_200), start_time: 'x', end_time: 'y' }, invitee: { uuid: 'I', email: 'a@example.com', name: 'A' } } },
      'invitee.created',
    ],
  ])('keeps %s as unprocessed instead of throwing: its URIs give no valid dedup key', (_what, json, eventName) => {
    const body = JSON.stringify(json);
    const parsed = parseDelivery(Buffer.from(body), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    expect(parsed).toMatchObject({ kind: 'unprocessed', delivery: { eventName, rawBody: body, reason: expect.stringMatching(/URI/) } });
  });

  it('removes NUL characters, which PostgreSQL refuses, from every string of a payload', async () => {
    const { body } = fake.webhookDelivery('invitee.created', (await invitee()).uri, 'key');
    const json = JSON.parse(body);
    json.payload.name = 'Ada\u0000 Lovelace';
    json.payload.email = 'ada\u0000@example.com';
    const parsed = parseDelivery(Buffer.from(JSON.stringify(json)), fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    expect(parsed).toMatchObject({ kind: 'invitee', delivery: { inviteeEmail: 'ada@example.com' } });
  });

  it('derives a workflow ID a person can type into the Web UI search', () => {
    expect(workflowIdFor('invitee.created:EVENT-1:INVITEE-2')).toBe('calendly-invitee.created-EVENT-1-INVITEE-2');
  });
});
