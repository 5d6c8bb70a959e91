/**
 * Many organizations, each with its own Calendly account connected through OAuth (the fake's), against the real
 * receiver, worker, Temporal and PostgreSQL: deliveries land in the right organization only, each connection's
 * deliveries need its own key, tokens are refreshed once however many activities need one, a revoked grant stops
 * work at once and a reconnect backfills what was missed, and a disconnect takes down the subscription and schedules.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError } from '@temporalio/client';
import { signatureFor } from '../../src/calendly/signature';
import { findConnection } from '../../src/database/connections';
import { connectionScheduleIds, connectionWorkflowIds, meetingWorkflowId } from '../../src/workflow-ids';
import { openEventStream } from '../support/event-stream';
import { completeConnect, signingKeyOf } from '../support/oauth-flow';
import { scrapeMetrics } from '../support/metrics';
import { API_TOKEN, eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Unique per run: other test files share the database, and may name their organizations alike. */
const tenant = (name: string) => ({
  organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
  token: `${name}-api-token-${randomUUID().replaceAll('-', '')}`,
});
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
const INITECH = tenant('initech');
const HOOLI = tenant('hooli');
const UMBRELLA = tenant('umbrella');

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, ...[ACME, GLOBEX, INITECH, HOOLI, UMBRELLA].map(({ token, organization }) => `${token}:${organization}`)].join(','),
    }),
  });
});
afterAll(() => system?.stop());

interface Tenant {
  organization: string;
  token: string;
}

interface Connected {
  id: string;
  calendlyOrganization: string;
  owner: string;
}

async function api(method: 'GET' | 'POST', path: string, token: string): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${system.receiverUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

/** A new Calendly organization in the fake, with its owner. */
function calendlyAccount(name: string, plan: 'standard' | 'free' = 'standard') {
  const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomUUID()}@calendly-${name.toLowerCase()}.test` }, plan });
  return { calendlyOrganization: organizationUri, owner: owner.uri };
}

/** The whole flow a settings page drives: start, the admin allows in Calendly, the callback, the set-up workflow. */
async function connect(tenant: Tenant, account: { calendlyOrganization: string; owner: string }): Promise<Connected> {
  const started = await api('POST', '/api/connection/connect', tenant.token);
  expect(started.status).toBe(200);
  const redirect = new URL(system.fake.authorize(started.body.authorizeUrl, account.owner));
  const completed = await completeConnect(system, tenant.token, redirect);
  expect(completed.status).toBe(200);
  const { connection } = completed.body as { connection: { id: string } };
  await system.temporal.workflow.getHandle(connectionWorkflowIds(connection.id).setUp).result();
  return { id: connection.id, ...account };
}

async function meetingsOf(tenant: Tenant): Promise<any[]> {
  return (await api('GET', '/api/meetings?limit=100', tenant.token)).body.data;
}

async function leadsOf(tenant: Tenant): Promise<any[]> {
  return (await api('GET', '/api/leads?limit=100', tenant.token)).body.data;
}

const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

let acme: Connected;
let globex: Connected;

beforeAll(async () => {
  acme = await connect(ACME, calendlyAccount('Acme'));
  globex = await connect(GLOBEX, calendlyAccount('Globex'));
});

it('gives each connection its own subscription, callback URL and signing key', async () => {
  const subscriptions = system.fake.subscriptions().filter((subscription) => subscription.state === 'active');
  const acmeSubscription = subscriptions.find((subscription) => subscription.organization === acme.calendlyOrganization);
  const globexSubscription = subscriptions.find((subscription) => subscription.organization === globex.calendlyOrganization);
  expect(acmeSubscription?.callback_url).toMatch(new RegExp(`/calendly/webhook/${acme.id}$`));
  expect(globexSubscription?.callback_url).toMatch(new RegExp(`/calendly/webhook/${globex.id}$`));
  const status = await api('GET', '/api/connection', ACME.token);
  expect(status.body.connection).toMatchObject({ id: acme.id, status: 'connected', webhook: { state: 'active', active: true } });
  // Nothing secret leaves: no token, no key.
  expect(JSON.stringify(status.body)).not.toMatch(/access_?token|refresh_?token|signing_?key/i);
});

it('stores each booking in the organization whose Calendly it was made in, and shows it to that organization only', async () => {
  const email = `${randomUUID()}@shared-customer.test`;
  const atAcme = await system.fake.bookMeeting({ email, name: 'Sam at Acme', startTime: inFuture(3), organization: acme.calendlyOrganization });
  const atGlobex = await system.fake.bookMeeting({ email, name: 'Sam at Globex', startTime: inFuture(4), organization: globex.calendlyOrganization });

  const acmeMeeting = await eventually(async () => (await meetingsOf(ACME)).find((meeting) => meeting.inviteeUri === atAcme.invitee.uri), 30_000, 'the Acme meeting');
  await eventually(async () => (await meetingsOf(GLOBEX)).find((meeting) => meeting.inviteeUri === atGlobex.invitee.uri), 30_000, 'the Globex meeting');
  expect(acmeMeeting.organization).toBe(ACME.organization);
  expect((await meetingsOf(ACME)).map((meeting) => meeting.inviteeUri)).not.toContain(atGlobex.invitee.uri);
  expect((await meetingsOf(GLOBEX)).map((meeting) => meeting.inviteeUri)).not.toContain(atAcme.invitee.uri);

  // The same person is a lead of each organization, with what that organization was told only.
  const acmeLead = (await leadsOf(ACME)).find((lead) => lead.email === email);
  const globexLead = (await leadsOf(GLOBEX)).find((lead) => lead.email === email);
  expect(acmeLead.name).toBe('Sam at Acme');
  expect(globexLead.name).toBe('Sam at Globex');
  expect(acmeLead.id).not.toBe(globexLead.id);

  // Ops find one customer's workflows by connection in the Web UI.
  const workflows = [];
  for await (const workflow of system.temporal.workflow.list({ query: `CalendlyConnection = "${acme.id}" AND CalendlyDeliveryType = "invitee.created"` })) {
    workflows.push(workflow.workflowId);
  }
  expect(workflows.length).toBeGreaterThan(0);
  expect(workflows.every((id) => id.includes(acme.id))).toBe(true);
  // Its meetings' reminder workflows too (started by the step after the meeting is saved), and no other organization's.
  await eventually(() => system.temporal.workflow.getHandle(meetingWorkflowId(atGlobex.invitee.uri, globex.id)).describe(), 30_000, "the Globex meeting's workflow");
  const meetingWorkflows = await eventually(async () => {
    const ids = [];
    for await (const workflow of system.temporal.workflow.list({ query: `CalendlyConnection = "${acme.id}" AND WorkflowType = "keepMeetingReminders"` })) {
      ids.push(workflow.workflowId);
    }
    return ids.includes(meetingWorkflowId(atAcme.invitee.uri, acme.id)) ? ids : undefined;
  }, 30_000, "the Acme meeting's workflow");
  expect(meetingWorkflows).not.toContain(meetingWorkflowId(atGlobex.invitee.uri, globex.id));

  // Metrics know the organization too: each one's deliveries, Calendly calls and bookings are counted under it.
  const samples = [...(await scrapeMetrics(system.metricsUrl))];
  const counted = (metric: string, labels: string) => samples.some(([key, value]) => key.startsWith(`${metric}{`) && key.endsWith(`${labels}}`) && value > 0);
  for (const { organization } of [ACME, GLOBEX]) {
    expect(counted('calendly_webhook_deliveries_total', `event_type="invitee.created",outcome="accepted",organization="${organization}"`)).toBe(true);
    expect(counted('calendly_api_requests_total', `status="200",organization="${organization}"`)).toBe(true);
    expect(counted('calendly_bookings_saved_total', `organization="${organization}"`)).toBe(true);
  }
});

it('sends a test webhook through API_URL for an organization without bookings, logged for that organization only', async () => {
  await connect(UMBRELLA, calendlyAccount('Umbrella'));
  const { status, body } = await api('POST', '/api/connection/test-webhook', UMBRELLA.token);
  expect(status).toBe(200);
  expect(body).toMatchObject({ received: true, status: 200, answer: { accepted: true, test: true } });
  const [row] = await system.orm.em.fork().getConnection().execute<{ outcome: string; organization: string }[]>(
    'select outcome, organization from webhook_deliveries where id = ?',
    [body.answer.trackingId],
  );
  expect(row).toEqual({ outcome: 'test', organization: UMBRELLA.organization });
  // Nothing was started and no booking appeared.
  expect(await meetingsOf(UMBRELLA)).toEqual([]);
  expect((await api('GET', '/api/connection', UMBRELLA.token)).body.connection.lastDeliveryAt).not.toBeNull();
  const otherTest = await api('POST', '/api/connection/test-webhook', HOOLI.token);
  expect(otherTest.status).toBe(404);
});

it("limits one organization's test webhooks a minute, without touching another's", async () => {
  // UMBRELLA sent one in the test before; ACME has sent none.
  const answers = await Promise.all(Array.from({ length: 10 }, () => api('POST', '/api/connection/test-webhook', UMBRELLA.token)));
  expect(answers.map(({ status }) => status).sort()).toEqual([...Array(9).fill(200), 429]);
  const refused = answers.find(({ status }) => status === 429)!;
  expect(refused.body).toMatchObject({ code: 'test_webhook_rate_limited' });
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  const logged = await system.orm.em.fork().getConnection().execute<{ count: number }[]>(
    "select count(*)::int as count from webhook_deliveries where outcome = 'test' and organization = ?",
    [UMBRELLA.organization],
  );
  expect(logged[0].count).toBe(10);
  expect((await api('POST', '/api/connection/test-webhook', ACME.token)).status).toBe(200);
});

it("refuses a delivery signed with another connection's key", async () => {
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@forged.test`, startTime: inFuture(5), organization: acme.calendlyOrganization }, { deliver: false });
  const { body } = system.fake.webhookDelivery('invitee.created', invitee.uri, 'unused-key-0123456789');
  const keyOf = (id: string) => signingKeyOf(system, id);
  const post = (connection: Connected, key: string) =>
    fetch(`${system.receiverUrl}/calendly/webhook/${connection.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, key, Math.floor(Date.now() / 1000)) },
      body,
    });

  const forged = await post(acme, await keyOf(globex.id));
  expect(forged.status).toBe(401);
  expect(((await forged.json()) as { code: string }).code).toBe('signature_mismatch');
  const unknown = await fetch(`${system.receiverUrl}/calendly/webhook/${randomUUID()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, await keyOf(acme.id), Math.floor(Date.now() / 1000)) },
    body,
  });
  expect(unknown.status).toBe(404);
  expect((await post(acme, await keyOf(acme.id))).status).toBe(202);
});

it('streams each organization its own events only, live and on resume', async () => {
  const acmeStream = await openEventStream(system.websocketUrl, { token: ACME.token });
  const globexStream = await openEventStream(system.websocketUrl, { token: GLOBEX.token });
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@live.test`, startTime: inFuture(6), organization: acme.calendlyOrganization });
  const created = await acmeStream.waitFor((event) => event.type === 'meeting.created' && (event.data as any).meeting?.inviteeUri === invitee.uri, 'the Acme meeting.created');
  expect(created.organization).toBe(ACME.organization);
  // Globex's stream, open all along, got none of it; nor does it on resume from the very start.
  expect(globexStream.events.filter((event) => event.organization !== GLOBEX.organization)).toEqual([]);
  const resumed = await openEventStream(system.websocketUrl, { token: GLOBEX.token, lastEventId: '0' });
  await resumed.waitFor(() => true, "Globex's backlog");
  expect(resumed.events.every((event) => event.organization === GLOBEX.organization)).toBe(true);
  await Promise.all([acmeStream.close(), globexStream.close(), resumed.close()]);
});

it('refreshes an expired access token once, however many deliveries need it at the same time', async () => {
  const account = calendlyAccount('Initech');
  system.fake.setAccessTokenLifetime(62);
  let connection: Connected;
  try {
    connection = await connect(INITECH, account);
  } finally {
    system.fake.setAccessTokenLifetime(7200);
  }
  // Within a minute of its expiry a token is refreshed before use: two seconds on, every call needs a new one.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const before = system.fake.oauthStats().refreshesByOwner[account.owner] ?? 0;
  const bookings = await Promise.all(
    [1, 2, 3, 4, 5].map((n) => system.fake.bookMeeting({ email: `${randomUUID()}@refresh${n}.test`, startTime: inFuture(7 + n), organization: account.calendlyOrganization })),
  );
  await eventually(
    async () => {
      const uris = new Set((await meetingsOf(INITECH)).map((meeting) => meeting.inviteeUri));
      return bookings.every(({ invitee }) => uris.has(invitee.uri)) || undefined;
    },
    45_000,
    'the five bookings',
  );
  expect((system.fake.oauthStats().refreshesByOwner[account.owner] ?? 0) - before).toBe(1);
  expect((await findConnection(system.orm.em.fork(), connection.id))?.status).toBe('connected');
});

it('marks a connection whose grant was revoked as needing reauthorization, retries nothing, and backfills the gap on reconnect', async () => {
  const revoked = system.fake.revokeGrants(acme.owner);
  expect(revoked).toBeGreaterThan(0);
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@gap.test`, startTime: inFuture(12), organization: acme.calendlyOrganization });

  const status = await eventually(
    async () => {
      const { body } = await api('GET', '/api/connection', ACME.token);
      return body.connection.status === 'needs_reauthorization' ? body.connection : undefined;
    },
    30_000,
    'needs_reauthorization',
  );
  expect(status.statusReason).toMatch(/reconnect/i);
  // The delivery failed at once (no retry can help a dead token): it is recorded, not retried forever.
  const failed = await eventually(async () => {
    for await (const workflow of system.temporal.workflow.list({ query: `CalendlyConnection = "${acme.id}" AND ExecutionStatus = "Failed"` })) return workflow;
    return undefined;
  });
  expect(failed.workflowId).toContain(acme.id);
  expect((await meetingsOf(ACME)).map((meeting) => meeting.inviteeUri)).not.toContain(invitee.uri);

  await connect(ACME, acme);
  // The set-up's sync fed the missed booking to its delivery workflow, which stores it.
  await eventually(async () => (await meetingsOf(ACME)).find((meeting) => meeting.inviteeUri === invitee.uri), 30_000, 'the backfilled booking');
  expect((await api('GET', '/api/connection', ACME.token)).body.connection).toMatchObject({ id: acme.id, status: 'connected' });
});

it('connects a free-plan account without webhooks, and still brings its bookings in by the sync', async () => {
  const account = calendlyAccount('Hooli', 'free');
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@free-plan.test`, startTime: inFuture(2), organization: account.calendlyOrganization }, { deliver: false });
  await connect(HOOLI, account);
  const { body } = await api('GET', '/api/connection', HOOLI.token);
  expect(body.connection.webhook).toMatchObject({ state: 'upgrade_required', active: false });
  expect(body.connection.webhook.detail).toMatch(/Standard/);
  expect(body.connection.lastSyncedAt).not.toBeNull();
  await eventually(async () => (await meetingsOf(HOOLI)).find((meeting) => meeting.inviteeUri === invitee.uri), 30_000, 'the synced booking');
});

it('disconnects: deletes the subscription, revokes the token, stops the schedules, and keeps the data', async () => {
  const ids = connectionScheduleIds(system.config.temporal.taskQueue, globex.id);
  await expect(system.temporal.schedule.getHandle(ids.reconcile).describe()).resolves.toBeDefined();
  const meetingsBefore = await meetingsOf(GLOBEX);

  const { status, body } = await api('POST', '/api/connection/disconnect', GLOBEX.token);
  expect(status).toBe(200);
  expect(body.connection).toMatchObject({ status: 'disconnected' });
  expect(system.fake.subscriptions().filter((subscription) => subscription.organization === globex.calendlyOrganization && subscription.state === 'active')).toEqual([]);
  for (const scheduleId of [ids.reconcile, ids.subscriptionCheck]) {
    await expect(system.temporal.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  }
  expect(system.fake.oauthStats().grants.filter((grant) => grant.owner === globex.owner && !grant.revokedAt)).toEqual([]);
  expect(await meetingsOf(GLOBEX)).toEqual(meetingsBefore);
});
