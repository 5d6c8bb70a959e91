/**
 * Outbound event webhooks end to end: endpoints added through the API, outbox events fanned out in their own
 * transaction, the worker's dispatcher waking one `deliverEndpointEvents` per endpoint, real HTTP endpoints.
 * Retries are made fast through configuration (1 s doubling to 2 s, 3 attempts), not by changing the production defaults.
 */
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../../src/database/outbox';
import { outboundEndpointWorkflowId } from '../../src/workflow-ids';
import { recordHistory } from '../support/histories';
import { signedWith, startOutboundEndpoint, type OutboundEndpointServer } from '../support/outbound-endpoint';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

const MAX_ATTEMPTS = 3;
let system: TestSystem;
const endpoints: OutboundEndpointServer[] = [];
beforeAll(async () => {
  system = await startTestSystem({
    env: { OUTBOUND_WEBHOOK_INITIAL_RETRY_SECONDS: '1', OUTBOUND_WEBHOOK_MAX_RETRY_SECONDS: '2', OUTBOUND_WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS) },
  });
  await system.subscribeReceiver();
});
afterAll(async () => {
  await system.stop();
  await Promise.all(endpoints.map((endpoint) => endpoint.close()));
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${system.receiverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

/** A local endpoint, subscribed through the API for the organization: the server and the secret shown once. */
async function subscribe(organization: string, eventTypes: string[]) {
  const server = await startOutboundEndpoint();
  endpoints.push(server);
  const created = await api('POST', `/api/outbound-endpoints?organization=${encodeURIComponent(organization)}`, { url: server.url, eventTypes });
  expect(created).toMatchObject({ status: 201, body: { organization, url: server.url, eventTypes, enabled: true, secret: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  return { server, id: created.body.id as string, secret: created.body.secret as string };
}

async function outboxEventsOf(organization: string, types: string[]): Promise<string[]> {
  const rows = await system.orm.em.fork().execute<{ id: string }[]>(
    'select id from outbox_events where organization = ? and type = any(?::text[]) order by id',
    [organization, `{${types.join(',')}}`],
  );
  return rows.map(({ id }) => String(id));
}

const deliveriesOf = async (endpointId: string) =>
  system.orm.em.fork().execute<{ id: string; state: string; attempts: number; last_status: number | null; last_error: string | null }[]>(
    'select id, state, attempts, last_status, last_error from outbound_deliveries where endpoint_id = ? order by created_at, outbox_event_id',
    [endpointId],
  );

it('delivers a routing form submission as lead.form_submitted to lead.* endpoints of its organization only', async () => {
  const organization = system.fake.organizationUri;
  const ours = await subscribe(organization, ['lead.*']);
  const theirs = await subscribe(`https://api.calendly.com/organizations/${randomUUID()}`, ['lead.*']);
  const email = `form-${randomUUID()}@example.com`;
  const { submission } = await system.fake.submitRoutingForm({ answers: [{ question: 'Email', answer: email }] });

  const submitted = await eventually(
    () => Promise.resolve(ours.server.accepted().find(({ body }) => body.type === 'lead.form_submitted')),
    30_000,
    'lead.form_submitted delivered',
  );
  expect(submitted.body).toMatchObject({
    type: 'lead.form_submitted',
    organization,
    data: { lead: { email }, submission: { uri: submission.uri, booked: false } },
  });
  expect(signedWith(submitted, ours.secret)).toBe(true);
  expect(theirs.server.received).toEqual([]);
});

it('delivers each subscribed event once, signed, with the same Idempotency-Key on every attempt, and nothing of another organization', async () => {
  const organization = system.fake.organizationUri;
  const ours = await subscribe(organization, ['meeting.*']);
  const otherOrganization = `https://api.calendly.com/organizations/${randomUUID()}`;
  const theirs = await subscribe(otherOrganization, ['lead.*', 'meeting.*', 'reminder.*']);
  ours.server.answerNext(500, 500);

  const { invitee } = await system.fake.bookMeeting({ email: `outbound-${Date.now()}@example.com`, startTime: '2033-01-01T10:00:00Z' });
  const [delivery] = await eventually(async () => {
    const rows = await deliveriesOf(ours.id);
    return rows[0]?.state === 'delivered' ? rows : undefined;
  }, 30_000, 'the delivery delivered');
  const accepted = ours.server.accepted();

  const meetingEvents = await outboxEventsOf(organization, ['meeting.created']);
  expect(meetingEvents.length).toBe(1);
  expect(accepted.map(({ body }) => body)).toEqual([
    { id: meetingEvents[0], type: 'meeting.created', occurredAt: expect.any(String), organization, data: { meeting: expect.objectContaining({ inviteeUri: invitee.uri }) } },
  ]);
  // Two 500s, then the 204: one delivery, the same key each time, each signed with the endpoint's secret.
  expect(ours.server.received.map(({ status }) => status)).toEqual([500, 500, 204]);
  expect(ours.server.received.map(({ idempotencyKey }) => idempotencyKey)).toEqual([delivery.id, delivery.id, delivery.id]);
  expect(ours.server.received.map((request) => signedWith(request, ours.secret))).toEqual([true, true, true]);
  expect(ours.server.received.map((request) => signedWith(request, theirs.secret))).toEqual([false, false, false]);
  expect(await deliveriesOf(ours.id)).toEqual([{ id: delivery.id, state: 'delivered', attempts: 3, last_status: 204, last_error: null }]);
  // One workflow for the endpoint: it ends once nothing is pending.
  const workflowId = outboundEndpointWorkflowId(ours.id);
  await system.temporal.workflow.getHandle(workflowId).result();
  await recordHistory(system.temporal, 'outbound-endpoint-retried.json', workflowId);

  // The other organization's endpoint got none of it, though it listens to every kind; its own event reaches it alone.
  expect(theirs.server.received).toEqual([]);
  const otherEvent = await system.orm.em
    .fork()
    .transactional((tx) => recordEvent(tx, { type: 'lead.created', organization: otherOrganization, payload: { lead: { id: randomUUID() } } }));
  await eventually(() => Promise.resolve(theirs.server.accepted().length ? true : undefined), 30_000, 'the other endpoint accepted');
  expect(theirs.server.received.map(({ body }) => [body.id, body.organization])).toEqual([[otherEvent, otherOrganization]]);
  expect(ours.server.received).toHaveLength(3);
});

it('makes a delivery refused with 410 dead at once, shows it, and delivers it on replay once the endpoint recovers', async () => {
  const organization = system.fake.organizationUri;
  const crm = await subscribe(organization, ['lead.created']);
  crm.server.status = 410;

  const email = `gone-${Date.now()}@example.com`;
  await system.fake.bookMeeting({ email, startTime: '2033-02-01T10:00:00Z' });
  const [dead] = await eventually(async () => {
    const rows = await deliveriesOf(crm.id);
    return rows[0]?.state === 'dead' ? rows : undefined;
  }, 30_000, 'the delivery is dead');
  expect(dead).toMatchObject({ attempts: 1, last_status: 410, last_error: 'outbound webhook answered 410' });
  expect(crm.server.received.map(({ status }) => status)).toEqual([410]);
  const workflowId = outboundEndpointWorkflowId(crm.id);
  await system.temporal.workflow.getHandle(workflowId).result();
  await recordHistory(system.temporal, 'outbound-endpoint-dead.json', workflowId);

  const listed = await api('GET', `/api/outbound-deliveries?state=dead&organization=${encodeURIComponent(organization)}`);
  expect(listed.status).toBe(200);
  expect(listed.body.data).toEqual(
    expect.arrayContaining([expect.objectContaining({ id: dead.id, endpointId: crm.id, eventType: 'lead.created', state: 'dead', attempts: 1, lastStatus: 410 })]),
  );

  crm.server.status = 204;
  expect(await api('POST', `/api/outbound-deliveries/${dead.id}/replay`)).toEqual({ status: 202, body: { replayed: true, deliveryId: dead.id, workflowId } });
  await eventually(async () => ((await deliveriesOf(crm.id))[0].state === 'delivered' ? true : undefined), 30_000, 'the replayed delivery is delivered');
  expect(crm.server.received.map(({ status, idempotencyKey }) => [status, idempotencyKey])).toEqual([
    [410, dead.id],
    [204, dead.id],
  ]);
  expect(signedWith(crm.server.received[1], crm.secret)).toBe(true);
  expect(crm.server.received[1].body).toMatchObject({ type: 'lead.created', organization, data: { lead: expect.objectContaining({ email }) } });
  // Delivered now, it cannot be replayed again.
  expect(await api('POST', `/api/outbound-deliveries/${dead.id}/replay`)).toMatchObject({ status: 409, body: { code: 'not_dead' } });
});

it("sends an endpoint's events in the order they happened: a failing one holds the next ones back until it is delivered or dead", async () => {
  const organization = `https://api.calendly.com/organizations/${randomUUID()}`;
  const crm = await subscribe(organization, ['lead.*']);
  // The first event fails every attempt it has, then it is dead; the second fails once; the third goes at once.
  crm.server.answerNext(...Array<number>(MAX_ATTEMPTS).fill(503), 500);
  const events: string[] = [];
  await system.orm.em.fork().transactional(async (tx) => {
    for (let i = 0; i < 3; i++) events.push(await recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: randomUUID() } } }));
  });

  // Settled in the database (the endpoint's answer is recorded just after it is received).
  const settled = await eventually(async () => {
    const rows = await deliveriesOf(crm.id);
    return rows.length === 3 && rows.every(({ state }) => state !== 'pending') ? rows : undefined;
  }, 60_000, 'the three deliveries settled');
  const [first, second, third] = events;
  expect(crm.server.received.map(({ body, status }) => [body.id, status])).toEqual([
    ...Array(MAX_ATTEMPTS).fill([first, 503]),
    [second, 500],
    [second, 204],
    [third, 204],
  ]);
  expect(settled.map(({ state, attempts }) => [state, attempts])).toEqual([
    ['dead', MAX_ATTEMPTS],
    ['delivered', 2],
    ['delivered', 1],
  ]);
  await system.temporal.workflow.getHandle(outboundEndpointWorkflowId(crm.id)).result();
});

it('a burst of events to one endpoint wakes its one workflow, not a workflow per event', async () => {
  const organization = `https://api.calendly.com/organizations/${randomUUID()}`;
  const crm = await subscribe(organization, ['meeting.*']);
  await system.orm.em.fork().transactional(async (tx) => {
    for (let i = 0; i < 20; i++) await recordEvent(tx, { type: 'meeting.created', organization, payload: { meeting: { id: randomUUID() } } });
  });
  await eventually(() => Promise.resolve(crm.server.accepted().length === 20 || undefined), 30_000, 'the 20 events delivered');
  const handle = system.temporal.workflow.getHandle(outboundEndpointWorkflowId(crm.id));
  await handle.result();
  const events = (await handle.fetchHistory()).events ?? [];
  expect(events[0].workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? '').toBe('');
  expect(events.filter((event) => event.activityTaskScheduledEventAttributes)).toHaveLength(1);
});
