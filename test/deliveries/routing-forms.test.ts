/**
 * Leads from routing forms, for two organizations side by side (each its own Calendly account connected through
 * OAuth, the fake's), against the real receiver, worker, Temporal and PostgreSQL: the connect's sync picks up what was
 * submitted before, a signed submission makes the organization's lead (announced as lead.form_submitted) that the
 * other never sees, a booking links in either arrival order, a redelivery collapses, and the booking rate counts them.
 * Where Calendly refuses routing forms, the connection still subscribes to the invitee events and says so.
 */
import { randomUUID } from 'node:crypto';
import { ROUTING_FORM_EVENT, HANDLED_EVENTS, SUBSCRIBED_EVENTS } from '../../src/calendly/schemas';
import { signatureFor } from '../../src/calendly/signature';
import { listRoutingFormSubmissions } from '../../src/database/routing-form-submissions';
import { parseDelivery, workflowIdFor } from '../../src/deliveries/parse';
import { connectionWorkflowIds } from '../../src/workflow-ids';
import { openEventStream } from '../support/event-stream';
import { recordHistory } from '../support/histories';
import { completeConnect, signingKeyOf } from '../support/oauth-flow';
import { eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Unique per run: other test files share the database. */
const tenant = (name: string) => ({
  organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
  token: `${name}-api-token-${randomUUID().replaceAll('-', '')}`,
});
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
const INITECH = tenant('initech');
type Tenant = typeof ACME;

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [ACME, GLOBEX, INITECH].map(({ token, organization }) => `${token}:${organization}`).join(','),
    }),
  });
});
afterAll(() => system?.stop());

async function api(path: string, tenant: Tenant): Promise<{ status: number; body: any }> {
  const response = await fetch(`${system.receiverUrl}${path}`, { headers: { authorization: `Bearer ${tenant.token}`, accept: 'application/json' } });
  return { status: response.status, body: await response.json() };
}

function calendlyAccount(name: string) {
  const { organizationUri, owner } = system.fake.createOrganization({ owner: { name, email: `${randomUUID()}@calendly-${name.toLowerCase()}.test` } });
  return { calendlyOrganization: organizationUri, owner: owner.uri };
}

async function connect(tenant: Tenant, account: { owner: string }): Promise<{ id: string; setUp: any }> {
  const started = await fetch(`${system.receiverUrl}/api/connection/connect`, { method: 'POST', headers: { authorization: `Bearer ${tenant.token}` } });
  const { authorizeUrl } = (await started.json()) as { authorizeUrl: string };
  const completed = await completeConnect(system, tenant.token, new URL(system.fake.authorize(authorizeUrl, account.owner)));
  expect(completed.status).toBe(200);
  const id = completed.body.connection.id as string;
  return { id, setUp: await system.temporal.workflow.getHandle(connectionWorkflowIds(id).setUp).result() };
}

const leadsOf = async (tenant: Tenant): Promise<any[]> => (await api('/api/leads?limit=100', tenant)).body.data;
const submissionsOf = async (tenant: Tenant) => (await listRoutingFormSubmissions(system.orm.em.fork(), { organization: tenant.organization, limit: 100, offset: 0 }))[0];
const answers = (email: string) => [
  { question: 'Full name', answer: 'Grace Hopper' },
  { question: 'Email address', answer: email },
  { question: 'Team size', answer: '11-50' },
];
const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

let acme: { id: string; calendlyOrganization: string };
let globex: { id: string; calendlyOrganization: string };
const before = `${randomUUID()}@before-connect.test`;

it('picks up, on connect, what was submitted before, and subscribes each connection to routing form submissions', async () => {
  const acmeAccount = calendlyAccount('Acme');
  const globexAccount = calendlyAccount('Globex');
  await system.fake.submitRoutingForm({ organization: acmeAccount.calendlyOrganization, answers: answers(before) });

  const connectedAcme = await connect(ACME, acmeAccount);
  const connectedGlobex = await connect(GLOBEX, globexAccount);
  acme = { id: connectedAcme.id, calendlyOrganization: acmeAccount.calendlyOrganization };
  globex = { id: connectedGlobex.id, calendlyOrganization: globexAccount.calendlyOrganization };
  expect(connectedAcme.setUp.sync.routingFormSubmissions).toEqual({ read: 1, created: 1 });

  const subscriptions = system.fake.subscriptions().filter(({ organization }) => [acme, globex].some((each) => each.calendlyOrganization === organization));
  expect(subscriptions).toHaveLength(2);
  for (const subscription of subscriptions) expect([...subscription.events].sort()).toEqual([...SUBSCRIBED_EVENTS].sort());
  expect((await api('/api/connection', ACME)).body.connection.routingForms).toEqual({ state: 'subscribed', detail: null });

  expect((await leadsOf(ACME)).map((lead) => lead.email)).toContain(before);
  expect((await leadsOf(GLOBEX)).map((lead) => lead.email)).not.toContain(before);
  const [submission] = await submissionsOf(ACME);
  expect(submission).toMatchObject({ routingFormName: 'Contact us', submitterUri: null, meetingId: null });
  expect(await submissionsOf(GLOBEX)).toEqual([]);
});

it('makes a signed submission without a booking the lead of its organization only, announced as lead.form_submitted', async () => {
  const acmeStream = await openEventStream(system.websocketUrl, { token: ACME.token });
  const globexStream = await openEventStream(system.websocketUrl, { token: GLOBEX.token });
  const email = `${randomUUID()}@no-booking.test`;
  const { submission, deliveries } = await system.fake.submitRoutingForm({ organization: acme.calendlyOrganization, answers: answers(email), tracking: { utm_source: 'ads' } });
  expect(deliveries.map(({ event, status }) => [event, status])).toEqual([[ROUTING_FORM_EVENT, 202]]);

  const announced = await acmeStream.waitFor((event) => event.type === 'lead.form_submitted' && (event.data as any).submission.uri === submission.uri, 'lead.form_submitted');
  expect(announced.organization).toBe(ACME.organization);
  expect(announced.data).toMatchObject({
    lead: { email, name: 'Grace Hopper' },
    submission: { booked: false, meetingId: null, tracking: { utm_source: 'ads' }, questionsAndAnswers: [{ question: 'Full name' }, { answer: email }, { answer: '11-50' }] },
  });
  expect((await leadsOf(ACME)).map((lead) => lead.email)).toContain(email);
  expect((await leadsOf(GLOBEX)).map((lead) => lead.email)).not.toContain(email);
  expect(globexStream.events.filter((event) => event.organization !== GLOBEX.organization)).toEqual([]);
  // The delivery log finds the submission by the email its person gave, for its organization only.
  expect((await api(`/api/deliveries?email=${encodeURIComponent(email.toUpperCase())}`, ACME)).body.data).toEqual([
    expect.objectContaining({ eventType: ROUTING_FORM_EVENT }),
  ]);
  expect((await api(`/api/deliveries?email=${encodeURIComponent(email)}`, GLOBEX)).body.data).toEqual([]);

  // A redelivery of the same submission is a duplicate: one submission, one announcement.
  const [sent] = system.fake.deliveryLog().filter((attempt) => attempt.event === ROUTING_FORM_EVENT && attempt.body.includes(submission.uri));
  const workflowId = workflowIdFor(parseDelivery(Buffer.from(sent.body), system.fake.url, acme.id).delivery.dedupKey);
  await system.temporal.workflow.getHandle(workflowId).result();
  await recordHistory(system.temporal, 'routing-form-submission.json', workflowId);
  const key = await signingKeyOf(system, acme.id);
  const again = await fetch(sent.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(sent.body, key, Math.floor(Date.now() / 1000)) },
    body: sent.body,
  });
  expect(again.status).toBe(200);
  expect((await submissionsOf(ACME)).filter((stored) => stored.uri === submission.uri)).toHaveLength(1);
  expect(acmeStream.events.filter((event) => event.type === 'lead.form_submitted' && (event.data as any).submission.uri === submission.uri)).toHaveLength(1);
  await Promise.all([acmeStream.close(), globexStream.close()]);
});

it.each(['submission-first', 'booking-first'] as const)('links the booking a submission led to when the %s webhook arrives first', async (order) => {
  const email = `${randomUUID()}@${order}.test`;
  const { submission, booking } = await system.fake.submitRoutingForm(
    { organization: acme.calendlyOrganization, answers: answers(email), booking: { email, name: 'Grace Hopper', startTime: inFuture(3) } },
    { order },
  );
  const stored = await eventually(async () => {
    const found = (await submissionsOf(ACME)).find((each) => each.uri === submission.uri);
    return found?.meetingId ? found : undefined;
  }, 30_000, 'the submission linked to its meeting');
  const meeting = (await api('/api/meetings?limit=100', ACME)).body.data.find((each: any) => each.inviteeUri === booking!.invitee.uri);
  expect(stored.meetingId).toBe(meeting.id);
  expect(stored.leadId).toBe(meeting.lead.id);
  expect((await leadsOf(ACME)).filter((lead) => lead.email === email)).toHaveLength(1);
});

it('counts the booking rate per period for each organization, beside the held rate', async () => {
  // Globex: one submission, no booking.
  await system.fake.submitRoutingForm({ organization: globex.calendlyOrganization, answers: answers(`${randomUUID()}@globex.test`) });
  await eventually(async () => ((await submissionsOf(GLOBEX)).length === 1 ? true : undefined), 30_000, 'the Globex submission');

  const acmeToday = (await api('/api/dashboard', ACME)).body.business.today;
  // Before connect, without booking, and two that led to a booking.
  expect(acmeToday).toMatchObject({ formSubmissions: 4, bookedFromForms: 2, bookingRate: 0.5 });
  expect((await api('/api/dashboard', GLOBEX)).body.business.today).toMatchObject({ formSubmissions: 1, bookedFromForms: 0, bookingRate: 0 });
  const past = new URLSearchParams({ from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' });
  expect((await api(`/api/dashboard?${past.toString()}`, ACME)).body.business.range).toMatchObject({ formSubmissions: 0, bookedFromForms: 0, bookingRate: null });
});

it('subscribes to the invitee events alone where Calendly refuses routing forms, and says so on the connection', async () => {
  const account = calendlyAccount('Initech');
  system.fake.setRoutingFormsAvailable(account.calendlyOrganization, false);
  const { setUp } = await connect(INITECH, account);
  expect(setUp.webhookState).toBe('active');
  expect(setUp.sync.routingFormSubmissions).toBeNull();
  const [subscription] = system.fake.subscriptions().filter(({ organization }) => organization === account.calendlyOrganization);
  expect([...subscription.events].sort()).toEqual([...HANDLED_EVENTS].sort());
  const { routingForms } = (await api('/api/connection', INITECH)).body.connection;
  expect(routingForms.state).toBe('unavailable');
  expect(routingForms.detail).toContain('routing_forms:read');

  // Its bookings still come in.
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@initech.test`, startTime: inFuture(2), organization: account.calendlyOrganization });
  await eventually(async () => ((await api('/api/meetings?limit=100', INITECH)).body.data.some((each: any) => each.inviteeUri === invitee.uri) ? true : undefined), 30_000, 'the Initech meeting');
});
