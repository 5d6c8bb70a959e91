/**
 * What a disconnect or a reconnect leaves behind, for two organizations: a disconnected connection's subscription
 * is deleted by Calendly on its URL's 410 Gone (and no URL that should receive ever answers 410), the refresh token
 * revoked is the one held at the end, a set-up still running is stopped, and a reconnect to another Calendly
 * organization deletes the old subscription and rotates the signing key.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities';
import { signatureFor } from '../../src/calendly/signature';
import { connectionServicesFrom } from '../../src/connections/services';
import type { ConnectionTeardown } from '../../src/contract';
import { markConnectionStatus } from '../../src/database/connections';
import { connectionScheduleIds, connectionWorkflowIds } from '../../src/workflow-ids';
import { OutboundDestinations } from '../../src/outbound-destinations';
import { calendlyAccount as calendlyAccountOf, connectAndSetUp, connectThroughCalendly, signingKeyOf } from '../support/oauth-flow';
import { API_TOKEN, eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();
const tenant = (name: string) => ({ organization: `https://app.example.com/organizations/lifecycle-${name}-${RUN}`, token: `lifecycle-${name}-token-0123456789abcdef` });
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
const INITECH = tenant('initech');
const HOOLI = tenant('hooli');
const UMBRELLA = tenant('umbrella');
const WAYNE = tenant('wayne');

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      // A disconnect reaches each receiver's URL within this (60 s by default).
      CONNECTION_SIGNING_KEY_CACHE_SECONDS: '5',
      API_TOKENS: [API_TOKEN, ...[ACME, GLOBEX, INITECH, HOOLI, UMBRELLA, WAYNE].map(({ token, organization }) => `${token}:${organization}`)].join(','),
    }),
  });
});
afterAll(() => system.stop());

const calendlyAccount = (name: string) => calendlyAccountOf(system, name);
/** Connects through Calendly's consent and waits for the set-up (subscription, schedules, first sync). */
const connect = (who: { token: string }, owner: string, confirm?: boolean) => connectAndSetUp(system, who.token, owner, confirm);

async function disconnect(who: { token: string }): Promise<void> {
  const answer = await fetch(`${system.receiverUrl}/api/connection/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${who.token}` } });
  expect({ status: answer.status, body: await answer.json() }).toMatchObject({ status: 200, body: { connection: { status: 'disconnected' } } });
}

const activeSubscriptionsOf = (calendlyOrganization: string) =>
  system.fake.subscriptions().filter((subscription) => subscription.organization === calendlyOrganization && subscription.state === 'active');

const inFuture = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** A delivery to a connection's URL signed with `signingKey`, as its subscription would send it. */
async function signedDelivery(connectionId: string, signingKey: string): Promise<{ status: number; body: any }> {
  const body = JSON.stringify({ created_at: new Date().toISOString(), created_by: 'https://api.calendly.com/users/x', event: 'invitee.created', payload: {} });
  const response = await fetch(`${system.config.webhookUrl}/${connectionId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, signingKey, Math.floor(Date.now() / 1000)) },
    body,
  });
  return { status: response.status, body: await response.json() };
}

it("makes Calendly delete a disconnected connection's orphaned subscription (410 Gone), and never answers 410 to a URL that should receive", async () => {
  const acme = calendlyAccount('Acme');
  const acmeId = await connect(ACME, acme.owner);
  const globex = calendlyAccount('Globex');
  const globexId = await connect(GLOBEX, globex.owner);
  expect(activeSubscriptionsOf(acme.organizationUri)).toHaveLength(1);

  // The grant is revoked in Calendly: the connection needs reauthorization, its subscription stays, and its URL still
  // receives (a reconnect resumes; its deliveries are kept).
  system.fake.revokeGrants(acme.owner);
  await markConnectionStatus(system.orm.em.fork(), acmeId, 'needs_reauthorization', 'test: Calendly refused the token');
  const meantime = await system.fake.bookMeeting({ email: `${randomUUID()}@acme-invitee.test`, startTime: inFuture(3), organization: acme.organizationUri });
  expect(meantime.deliveries.map((delivery) => delivery.status)).toEqual([202]);

  // Disconnected with a dead token, the teardown cannot delete the subscription; its next delivery is answered 410
  // (once the receiver's key cache, 5 s here, has seen the disconnect).
  const key = await signingKeyOf(system, acmeId);
  await disconnect(ACME);
  expect(activeSubscriptionsOf(acme.organizationUri)).toHaveLength(1);
  await eventually(async () => ((await signedDelivery(acmeId, key)).status === 410 ? true : undefined), 45_000, 'the disconnected URL answering 410');
  const orphaned = await system.fake.bookMeeting({ email: `${randomUUID()}@acme-invitee.test`, startTime: inFuture(4), organization: acme.organizationUri });
  expect(orphaned.deliveries.map((delivery) => delivery.status)).toEqual([410]);
  expect(activeSubscriptionsOf(acme.organizationUri)).toEqual([]);
  expect(system.fake.subscriptions().filter((subscription) => subscription.callback_url.endsWith(`/${acmeId}`))).toEqual([]);

  // A forged delivery to it is refused as before (401), not 410; unknown connections stay 404.
  expect(await signedDelivery(acmeId, 'not-its-key')).toMatchObject({ status: 401 });
  expect(await signedDelivery(randomUUID(), 'any-key')).toMatchObject({ status: 404, body: { code: 'unknown_connection' } });
  // The other organization's connection keeps receiving.
  const globexBooking = await system.fake.bookMeeting({ email: `${randomUUID()}@globex-invitee.test`, startTime: inFuture(3), organization: globex.organizationUri });
  expect(globexBooking.deliveries.map((delivery) => delivery.status)).toEqual([202]);
  expect(await signedDelivery(globexId, await signingKeyOf(system, globexId))).not.toMatchObject({ status: 410 });

  // Reconnected (same connection id, just after a 410 from this receiver), it receives again at once.
  await connect(ACME, acme.owner);
  const after = await system.fake.bookMeeting({ email: `${randomUUID()}@acme-invitee.test`, startTime: inFuture(5), organization: acme.organizationUri });
  expect(after.deliveries.map((delivery) => delivery.status)).toEqual([202]);
});

it('revokes at disconnect the refresh token held at the end, also when the teardown itself refreshed it', async () => {
  const initech = calendlyAccount('InitechRefresh');
  const id = await connect(INITECH, initech.owner);
  // The access token is about to expire: deleting the subscription refreshes it first, spending the refresh token read before.
  await system.orm.em.fork().execute(`update calendly_connections set token_expires_at = now() where id = ?`, [id]);
  await disconnect(INITECH);

  const grants = system.fake.oauthStats().grants.filter((grant) => grant.owner === initech.owner);
  expect(grants).toHaveLength(1);
  expect(grants[0].refreshes).toBeGreaterThanOrEqual(1);
  expect(grants[0].revokedAt).not.toBeNull();
  expect(activeSubscriptionsOf(initech.organizationUri)).toEqual([]);
});

it('stops a set-up still running at disconnect, and a set-up step already under way recreates no schedule', async () => {
  const hooli = calendlyAccount('HooliSetUp');
  await system.stopWorker();
  let connectionId: string;
  try {
    // Without a worker the set-up started by the connect keeps running.
    const answer = await connectThroughCalendly(system, HOOLI.token, hooli.owner);
    expect(answer.status).toBe(200);
    connectionId = answer.body.connection.id;
    const setUp = system.temporal.workflow.getHandle(connectionWorkflowIds(connectionId).setUp);
    expect((await setUp.describe()).status.name).toBe('RUNNING');

    const activities = createActivities({
      orm: system.orm,
      connections: connectionServicesFrom(system.config, system.orm),
      temporal: system.temporal,
      taskQueue: system.config.temporal.taskQueue,
      reminders: system.config.reminders,
      destinations: new OutboundDestinations(system.config.outboundWebhooks.destinations),
      schedules: system.config.schedules,
    });
    await new MockActivityEnvironment().run((teardown: ConnectionTeardown) => activities.tearDownConnection(teardown), { connectionId, reason: 'test disconnect' });
    expect((await setUp.describe()).status.name).toBe('TERMINATED');

    // The set-up's schedule step, had it been under way at that moment, finishing after the teardown.
    await new MockActivityEnvironment().run((id: string) => activities.ensureConnectionSchedules(id), connectionId);
    const ids = connectionScheduleIds(system.config.temporal.taskQueue, connectionId);
    for (const scheduleId of [ids.reconcile, ids.subscriptionCheck]) {
      await expect(system.temporal.schedule.getHandle(scheduleId).describe()).rejects.toMatchObject({ name: 'ScheduleNotFoundError' });
    }
  } finally {
    await system.startWorker();
  }
  expect((await system.get('/api/connection', HOOLI.token)).body.connection).toMatchObject({ id: connectionId, status: 'disconnected' });
});

it('deletes the old subscription and rotates the signing key when a connection moves to another Calendly organization', async () => {
  const first = calendlyAccount('UmbrellaFirst');
  const second = calendlyAccount('UmbrellaSecond');
  const id = await connect(UMBRELLA, first.owner);
  const oldKey = await signingKeyOf(system, id);
  expect(activeSubscriptionsOf(first.organizationUri)).toHaveLength(1);

  const moved = await connect(UMBRELLA, second.owner, true);
  expect(moved).toBe(id);
  expect(activeSubscriptionsOf(first.organizationUri)).toEqual([]);
  expect(system.fake.oauthStats().grants.filter((grant) => grant.owner === first.owner && grant.revokedAt === null)).toEqual([]);
  const newKey = await signingKeyOf(system, id);
  expect(newKey).not.toBe(oldKey);
  // The new organization's subscription delivers with the new key; the old key no longer opens the URL.
  expect(activeSubscriptionsOf(second.organizationUri)).toHaveLength(1);
  const booking = await system.fake.bookMeeting({ email: `${randomUUID()}@umbrella-invitee.test`, startTime: inFuture(3), organization: second.organizationUri });
  expect(booking.deliveries.map((delivery) => delivery.status)).toEqual([202]);
  // A delivery the old subscription signs (had its deletion failed) is answered 410 Gone, so Calendly deletes it.
  expect(await signedDelivery(id, oldKey)).toMatchObject({ status: 410, body: { code: 'subscription_retired' } });
  expect(await signedDelivery(id, 'never-its-key')).toMatchObject({ status: 401, body: { code: 'signature_mismatch' } });
});

it("makes Calendly delete the subscription of a former Calendly organization whose token was dead at the move (410 Gone)", async () => {
  const first = calendlyAccount('WayneFirst');
  const second = calendlyAccount('WayneSecond');
  const id = await connect(WAYNE, first.owner);
  // The first organization's grant dies: its subscription cannot be deleted with it any more.
  system.fake.revokeGrants(first.owner);
  await markConnectionStatus(system.orm.em.fork(), id, 'needs_reauthorization', 'test: Calendly refused the token');
  await connect(WAYNE, second.owner, true);
  expect(activeSubscriptionsOf(first.organizationUri)).toHaveLength(1);

  // Its next delivery (once the receiver's key cache, 5 s here, has seen the move) is answered 410 and Calendly deletes it;
  // the new organization's subscription keeps receiving.
  await eventually(async () => {
    const booking = await system.fake.bookMeeting({ email: `${randomUUID()}@wayne-invitee.test`, startTime: inFuture(3), organization: first.organizationUri });
    return booking.deliveries.length === 0 || booking.deliveries[0].status === 410 ? true : undefined;
  }, 45_000, 'the old subscription answered 410');
  expect(activeSubscriptionsOf(first.organizationUri)).toEqual([]);
  const booking = await system.fake.bookMeeting({ email: `${randomUUID()}@wayne-invitee.test`, startTime: inFuture(4), organization: second.organizationUri });
  expect(booking.deliveries.map((delivery) => delivery.status)).toEqual([202]);
});
