/**
 * The delivery log API for two organizations side by side: the personal token connection's organization and one
 * connected through OAuth (the fake Calendly's), each with deliveries processed and failed for good through the real
 * receiver, worker, Temporal and PostgreSQL. GET /api/deliveries filters an organization's own log; a failed delivery
 * is replayed through POST /api/deliveries/{id}/replay once its cause is gone and ends processed with its meeting
 * stored; another organization can neither see nor replay it; each failure is counted once, by reason and organization.
 */
import { randomUUID } from 'node:crypto';
import { register, type Counter } from 'prom-client';
import { connectionWorkflowIds } from '../../src/workflow-ids';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { completeConnect, signingKeyOf } from '../support/oauth-flow';
import { API_TOKEN, eventually, oauthEnvironment, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { keepUnprocessedRow } from '../support/kept-deliveries';
import { deliveryOutcome } from '../support/delivery-outcome';

/** Unique per run: other test files share the database. */
const tenant = (name: string) => ({
  organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
  token: `${name}-api-token-${randomUUID().replaceAll('-', '')}`,
});
const ACME = tenant('acme');
/** An organization with no deliveries, whose replays only spend its own allowance. */
const FLOOD = tenant('flood');
/** Bound to the personal token connection's organization (the fake's own). */
const OWN_TOKEN = `own-api-token-${randomUUID().replaceAll('-', '')}`;

let system: TestSystem;
let acmeConnection: string;
let acmeCalendly: { organizationUri: string; owner: string };

interface Delivered {
  trackingId: string;
  workflowId: string;
  inviteeUri: string;
  email: string;
}
/** The personal token organization's deliveries: a booking and its cancel processed, then a booking failed (revoked token). */
let own: { booked: Delivered; canceled: Delivered; failed: Delivered };
/** Acme's: a booking processed, and one failed (Calendly answered 404). */
let acme: { booked: Delivered; failed: Delivered };

async function api(method: 'GET' | 'POST', path: string, token: string | null): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${system.receiverUrl}${path}`, { method, headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  return { status: response.status, body: await response.json(), headers: response.headers };
}
const list = (query: string, token: string) => api('GET', `/api/deliveries?${query}`, token);
const replay = (id: string, token: string) => api('POST', `/api/deliveries/${id}/replay`, token);
const idsOf = (answer: { body: { data: { id: string }[] } }) => answer.body.data.map((row) => row.id);

async function failedCount(labels: Record<string, string>): Promise<number> {
  const metric = register.getSingleMetric('calendly_webhook_deliveries_failed_total') as Counter | undefined;
  const values = metric ? (await metric.get()).values : [];
  return values.filter((value) => Object.entries(labels).every(([label, wanted]) => value.labels[label] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

/** Posts Calendly's delivery to a webhook URL and waits until its workflow has ended, either way. */
async function deliver(path: string, key: string, event: 'invitee.created' | 'invitee.canceled', inviteeUri: string, email: string): Promise<Delivered> {
  const { body, signature } = system.fake.webhookDelivery(event, inviteeUri, key);
  const response = await fetch(`${system.receiverUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signature }, body });
  const answer = (await response.json()) as { workflowId: string; trackingId: string };
  expect(response.status).toBe(202);
  await deliveryOutcome(system, answer.trackingId);
  return { trackingId: answer.trackingId, workflowId: answer.workflowId, inviteeUri, email };
}

async function book(organization?: string): Promise<{ inviteeUri: string; email: string }> {
  const email = `Log-${randomUUID()}@Example.com`;
  const startTime = new Date(Date.now() + (5 + Math.random()) * 86_400_000).toISOString();
  const { invitee } = await system.fake.bookMeeting({ email, name: 'Logged Invitee', startTime, ...(organization ? { organization } : {}) }, { deliver: false });
  return { inviteeUri: invitee.uri, email };
}

let failuresBefore: { own: number; acme: number };

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, `${OWN_TOKEN}:${fake.organizationUri}`, `${ACME.token}:${ACME.organization}`, `${FLOOD.token}:${FLOOD.organization}`].join(','),
    }),
  });
  const created = system.fake.createOrganization({ owner: { name: 'Acme', email: `${randomUUID()}@calendly-acme.test` }, plan: 'standard' });
  acmeCalendly = { organizationUri: created.organizationUri, owner: created.owner.uri };
  const started = await api('POST', '/api/connection/connect', ACME.token);
  const completed = await completeConnect(system, ACME.token, new URL(system.fake.authorize(started.body.authorizeUrl, acmeCalendly.owner)));
  acmeConnection = completed.body.connection.id;
  await system.temporal.workflow.getHandle(connectionWorkflowIds(acmeConnection).setUp).result();
  const acmeKey = await signingKeyOf(system, acmeConnection);
  failuresBefore = {
    own: await failedCount({ reason: 'unauthorized', organization: system.fake.organizationUri }),
    acme: await failedCount({ reason: 'not_found', organization: ACME.organization }),
  };

  const ownWebhook = '/calendly/webhook';
  const first = await book();
  const booked = await deliver(ownWebhook, SIGNING_KEY, 'invitee.created', first.inviteeUri, first.email);
  await system.fake.cancelInvitee(first.inviteeUri, { reason: 'busy' }, { deliver: false });
  const canceled = await deliver(ownWebhook, SIGNING_KEY, 'invitee.canceled', first.inviteeUri, first.email);
  const second = await book();
  // The token revoked for one call: the delivery fails for good; the next calls (the replay's) pass.
  system.fake.failNext('/scheduled_events', { status: 401, count: 1 });
  const failed = await deliver(ownWebhook, SIGNING_KEY, 'invitee.created', second.inviteeUri, second.email);
  own = { booked, canceled, failed };

  const acmeWebhook = `/calendly/webhook/${acmeConnection}`;
  const third = await book(acmeCalendly.organizationUri);
  const acmeBooked = await deliver(acmeWebhook, acmeKey, 'invitee.created', third.inviteeUri, third.email);
  const fourth = await book(acmeCalendly.organizationUri);
  system.fake.failNext('/scheduled_events', { status: 404, count: 1 });
  const acmeFailed = await deliver(acmeWebhook, acmeKey, 'invitee.created', fourth.inviteeUri, fourth.email);
  acme = { booked: acmeBooked, failed: acmeFailed };
}, 120_000);
afterAll(() => system?.stop());

it('refuses a request without a valid token', async () => {
  expect(await list('', '')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await api('GET', '/api/deliveries', 'not-a-configured-token-123')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await api('POST', `/api/deliveries/${own.failed.trackingId}/replay`, null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it("lists each organization's own deliveries, latest first, with their outcome, detail and workflow", async () => {
  const ownLog = await list('', OWN_TOKEN);
  expect(ownLog.status).toBe(200);
  expect(idsOf(ownLog)).toEqual([own.failed.trackingId, own.canceled.trackingId, own.booked.trackingId]);
  expect(ownLog.body.pagination).toEqual({ limit: 20, offset: 0, total: 3 });
  expect(ownLog.body.data[0]).toEqual({
    id: own.failed.trackingId,
    receivedAt: expect.any(String),
    eventType: 'invitee.created',
    outcome: 'failed',
    detail: expect.stringContaining('Calendly rejected the API token (401)'),
    inviteeUri: own.failed.inviteeUri,
    scheduledEventUri: expect.any(String),
    organization: system.fake.organizationUri,
    workflowId: own.failed.workflowId,
    workflowUrl: expect.stringContaining(encodeURIComponent(own.failed.workflowId)),
    replayable: true,
  });
  expect(ownLog.body.data[1]).toMatchObject({ outcome: 'processed', eventType: 'invitee.canceled', replayable: false });

  const acmeLog = await list('', ACME.token);
  expect(acmeLog.body.data.map((row: { id: string; outcome: string }) => [row.id, row.outcome])).toEqual([
    [acme.failed.trackingId, 'failed'],
    [acme.booked.trackingId, 'processed'],
  ]);
  expect(acmeLog.body.data[0]).toMatchObject({ organization: ACME.organization, detail: expect.stringContaining('404') });
  // Neither sees the other's, whatever it filters by.
  expect((await list(`email=${encodeURIComponent(acme.booked.email)}`, OWN_TOKEN)).body).toEqual({ data: [], pagination: { limit: 20, offset: 0, total: 0 } });
  expect((await list(`email=${encodeURIComponent(own.booked.email)}`, ACME.token)).body.data).toEqual([]);
  expect(await list('', FLOOD.token)).toMatchObject({ status: 200, body: { data: [], pagination: { total: 0 } } });
  // A token of every organization sees both.
  const all = idsOf(await list('limit=100&outcome=failed', API_TOKEN));
  expect(all).toEqual(expect.arrayContaining([own.failed.trackingId, acme.failed.trackingId]));
});

it('narrows the log by outcome, event, email, received time and page', async () => {
  expect(idsOf(await list('outcome=failed', OWN_TOKEN))).toEqual([own.failed.trackingId]);
  expect(idsOf(await list('outcome=processed', OWN_TOKEN))).toEqual([own.canceled.trackingId, own.booked.trackingId]);
  expect(idsOf(await list('outcome=unprocessed', OWN_TOKEN))).toEqual([]);
  expect(idsOf(await list('eventType=invitee.canceled', OWN_TOKEN))).toEqual([own.canceled.trackingId]);
  expect(idsOf(await list('eventType=invitee.created&outcome=processed', OWN_TOKEN))).toEqual([own.booked.trackingId]);
  // Whatever its case; the failed booking's invitee was never stored, but the delivery gave its email.
  expect(idsOf(await list(`email=${encodeURIComponent(own.booked.email.toLowerCase())}`, OWN_TOKEN))).toEqual([own.canceled.trackingId, own.booked.trackingId]);
  expect(idsOf(await list(`email=${encodeURIComponent(own.failed.email.toUpperCase())}`, OWN_TOKEN))).toEqual([own.failed.trackingId]);
  expect(idsOf(await list(`email=${encodeURIComponent(own.failed.email)}`, ACME.token))).toEqual([]);

  const [failed, canceled] = (await list('', OWN_TOKEN)).body.data as { receivedAt: string }[];
  const between = `from=${encodeURIComponent(canceled.receivedAt)}&to=${encodeURIComponent(failed.receivedAt)}`;
  expect(idsOf(await list(between, OWN_TOKEN))).toEqual([own.canceled.trackingId]);
  expect(idsOf(await list(`from=${encodeURIComponent(failed.receivedAt)}`, OWN_TOKEN))).toEqual([own.failed.trackingId]);

  const page = await list('limit=1&offset=1', OWN_TOKEN);
  expect(idsOf(page)).toEqual([own.canceled.trackingId]);
  expect(page.body.pagination).toEqual({ limit: 1, offset: 1, total: 3 });
});

it('answers 400 invalid_query for a bad query, never a 5xx', async () => {
  for (const query of [
    'outcome=lost',
    'limit=0',
    'limit=101',
    'offset=-1',
    'from=yesterday',
    'to=2030-01-01',
    'from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z',
    'email=%00',
    `eventType=${'x'.repeat(101)}`,
    'eventType=invitee.created%00',
  ]) {
    const answer = await list(query, OWN_TOKEN);
    expect({ query, status: answer.status, code: answer.body.code }).toEqual({ query, status: 400, code: 'invalid_query' });
  }
});

it("answers 404 for another organization's delivery and for an id that is none, and 409 for one that is not failed", async () => {
  expect(await replay(own.failed.trackingId, ACME.token)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(await replay(acme.failed.trackingId, OWN_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(await replay('not-a-uuid', OWN_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(await replay(randomUUID(), OWN_TOKEN)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  expect(await replay(own.booked.trackingId, OWN_TOKEN)).toMatchObject({ status: 409, body: { code: 'not_replayable', error: expect.stringContaining('processed') } });
  // Nothing was started for the other organization's failed delivery.
  expect((await list('outcome=failed', OWN_TOKEN)).body.data).toEqual([expect.objectContaining({ id: own.failed.trackingId, outcome: 'failed' })]);
});

it('counts each delivery that failed for good once, by reason and organization', async () => {
  expect(await failedCount({ reason: 'unauthorized', organization: system.fake.organizationUri })).toBe(failuresBefore.own + 1);
  expect(await failedCount({ reason: 'not_found', organization: ACME.organization })).toBe(failuresBefore.acme + 1);
});

it('replays a failed delivery once its cause is gone: it ends processed with its meeting stored, and a second click starts nothing', async () => {
  const first = await replay(own.failed.trackingId, OWN_TOKEN);
  expect(first).toMatchObject({ status: 202, body: { id: own.failed.trackingId, result: 'replayed', workflowId: own.failed.workflowId, duplicate: false } });
  // A double click: the same workflow found running, or the delivery no longer failed.
  const second = await replay(own.failed.trackingId, OWN_TOKEN);
  expect([second.status, second.status === 202 ? second.body.duplicate : second.body.code]).toEqual(second.status === 202 ? [202, true] : [409, 'not_replayable']);

  await deliveryOutcome(system, { id: own.failed.trackingId, outcome: 'processed' });
  const row = await eventually(async () => {
    const [found] = (await list(`email=${encodeURIComponent(own.failed.email)}`, OWN_TOKEN)).body.data as { id: string; outcome: string; replayable: boolean }[];
    return found?.outcome === 'processed' ? found : undefined;
  }, 30_000, 'the replayed delivery processed');
  expect(row).toMatchObject({ id: own.failed.trackingId, replayable: false });
  expect(await system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: own.failed.inviteeUri })).toMatchObject({ organization: system.fake.organizationUri, status: 'active' });
  expect(await replay(own.failed.trackingId, OWN_TOKEN)).toMatchObject({ status: 409, body: { code: 'not_replayable' } });

  // The other organization's failed delivery was left alone, and its own token replays it.
  expect((await list('outcome=failed', ACME.token)).body.data).toEqual([expect.objectContaining({ id: acme.failed.trackingId })]);
  expect(await replay(acme.failed.trackingId, ACME.token)).toMatchObject({ status: 202, body: { workflowId: acme.failed.workflowId } });
  await deliveryOutcome(system, { id: acme.failed.trackingId, outcome: 'processed' });
  expect(await system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: acme.failed.inviteeUri })).toMatchObject({ organization: ACME.organization });
  // A replay that ends processed is not a failure.
  expect(await failedCount({ reason: 'unauthorized', organization: system.fake.organizationUri })).toBe(failuresBefore.own + 1);
}, 60_000);

it('answers 422 for a kept delivery that still cannot be processed, and leaves it kept', async () => {
  const id = await keepUnprocessedRow(system.orm, {
    rawBody: '{"event": "invitee.created", "payload": ',
    detail: 'body is not valid JSON',
    organization: system.fake.organizationUri,
  });
  expect((await list('outcome=unprocessed', OWN_TOKEN)).body.data).toEqual([expect.objectContaining({ id, replayable: true })]);
  expect(await replay(id, ACME.token)).toMatchObject({ status: 404 });
  expect(await replay(id, OWN_TOKEN)).toMatchObject({ status: 422, body: { code: 'still_unprocessable', error: 'body is not valid JSON' } });
  expect((await list('outcome=unprocessed', OWN_TOKEN)).body.data).toEqual([expect.objectContaining({ id })]);
});

it("limits one organization's replays per minute, without touching another's", async () => {
  const answers = [];
  for (let ask = 0; ask < 31; ask += 1) answers.push(await replay(randomUUID(), FLOOD.token));
  expect(answers.slice(0, 30).every((answer) => answer.status === 404)).toBe(true);
  expect(answers[30]).toMatchObject({ status: 429, body: { code: 'replay_rate_limited' } });
  expect(Number(answers[30].headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await replay(randomUUID(), OWN_TOKEN)).toMatchObject({ status: 404 });
});
