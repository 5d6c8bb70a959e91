/** How fetchBookings sorts Calendly's answers into retry-later and give-up, against the fake Calendly API. */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { register } from 'prom-client';
import { createCalendlyActivities } from '../../activities/calendly';
import { CalendlyAccounts } from '../../activities/calendly-accounts';
import type { FetchedBookings } from '../../src/contract';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { calendlyAuthFailures } from '../../src/calendly/metrics';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ensurePersonalTokenConnection } from '../../src/connections/personal-token';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { openOrm } from '../database/database';

let fake: FakeCalendly;
let orm: MikroORM;
let activities: ReturnType<typeof createCalendlyActivities>;
const fetchBookings = (delivery: { scheduledEventUri: string; inviteeUri: string }) => activities.fetchBookings({ ...delivery, connectionId: PERSONAL_TOKEN_CONNECTION_ID });
beforeAll(async () => {
  fake = await startFakeCalendly({ apiToken: 'calendly-token' });
  orm = await openOrm();
  const calendly = new CalendlyApiClient({ baseUrl: fake.url, token: 'calendly-token' });
  // As a process does at start-up: the personal token connection, of this fake's organization.
  await ensurePersonalTokenConnection(orm, calendly);
  activities = createCalendlyActivities(new CalendlyAccounts({ orm, personalToken: { calendly, target: { callbackUrl: 'https://unused.example.com', signingKey: 'unused' } } }));
});
afterAll(async () => {
  await fake.close();
  await orm.close();
});

async function booking() {
  const { event, invitee } = await fake.bookMeeting({ email: 'rate@example.com', startTime: '2031-01-01T10:00:00.000000Z' }, { deliver: false });
  return { scheduledEventUri: event.uri, inviteeUri: invitee.uri };
}

async function failureOf(delivery: Awaited<ReturnType<typeof booking>>): Promise<ApplicationFailure> {
  const error: unknown = await new MockActivityEnvironment().run(fetchBookings, delivery).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

const run = (delivery: { scheduledEventUri: string; inviteeUri: string }) =>
  new MockActivityEnvironment().run<[typeof delivery], FetchedBookings, typeof fetchBookings>(fetchBookings, delivery);

it('returns the invitee, its scheduled event and the organization of the token, as Calendly has them', async () => {
  const delivery = await booking();
  const { bookings, organization } = await run(delivery);
  expect(bookings).toHaveLength(1);
  expect(bookings[0].event.uri).toBe(delivery.scheduledEventUri);
  expect(bookings[0].invitee.uri).toBe(delivery.inviteeUri);
  expect(organization).toBe(fake.organizationUri);
});

it('reads the other side of a reschedule too, from either side', async () => {
  const delivery = await booking();
  const { newInvitee, newEvent } = await fake.rescheduleInvitee(delivery.inviteeUri, { startTime: '2031-01-02T10:00:00.000000Z' }, { deliver: false });
  const fromOld = await run(delivery);
  expect(fromOld.bookings.map(({ invitee }) => [invitee.uri, invitee.status])).toEqual([
    [delivery.inviteeUri, 'canceled'],
    [newInvitee.uri, 'active'],
  ]);
  const fromNew = await run({ scheduledEventUri: newEvent.uri, inviteeUri: newInvitee.uri });
  expect(fromNew.bookings.map(({ invitee }) => invitee.uri)).toEqual([newInvitee.uri, delivery.inviteeUri]);
});

it('waits for X-RateLimit-Reset after a 429 instead of the usual back-off', async () => {
  const delivery = await booking();
  const logged = fake.requestLog().length;
  fake.failNext('/scheduled_events', { status: 429, count: 1 });
  const failure = await failureOf(delivery);
  expect(failure.type).toBe('CalendlyRateLimited');
  expect(failure.nonRetryable).toBe(false);
  expect(fake.requestLog().slice(logged).map(({ status }) => status)).toContain(429);
  const probe = await fetch(`${fake.url}/users/me`, { headers: { authorization: 'Bearer calendly-token' } });
  const resetSeconds = Number(probe.headers.get('x-ratelimit-reset'));
  const delaySeconds = Number(/^(\d+)s$/.exec(String(failure.nextRetryDelay))?.[1]);
  expect(Math.abs(delaySeconds - resetSeconds)).toBeLessThanOrEqual(1);
});

it('gives up on a deleted event (404) without retrying', async () => {
  const delivery = await booking();
  fake.deleteEvent(delivery.scheduledEventUri);
  const failure = await failureOf(delivery);
  expect(failure).toMatchObject({ type: 'CalendlyResourceNotFound', nonRetryable: true });
});

it.each([401, 403] as const)('gives up at once on a rejected API token (%i), saying how to fix it, and counts it under its organization', async (status) => {
  const delivery = await booking();
  // The personal token connection learnt its organization from GET /users/me (at start-up).
  const failures = async () =>
    (await calendlyAuthFailures.get()).values.find(({ labels }) => labels.status === String(status) && labels.organization === fake.organizationUri)?.value ?? 0;
  const before = await failures();
  fake.failNext('/scheduled_events', { status, count: 1 });
  const failure = await failureOf(delivery);
  expect(failure).toMatchObject({ type: 'CalendlyUnauthorized', nonRetryable: true });
  expect(failure.message).toContain(`Calendly rejected the API token (${status}): reconnect`);
  expect(await failures()).toBe(before + 1);
  expect(await register.getSingleMetricAsString('calendly_api_auth_failures_total')).toContain(`status="${status}",organization="${fake.organizationUri}"`);
});

it('lets server errors be retried', async () => {
  const delivery = await booking();
  fake.failNext('/scheduled_events', { status: 500, count: 2 });
  const error: unknown = await new MockActivityEnvironment().run(fetchBookings, delivery).catch((thrown: unknown) => thrown);
  expect(error).toMatchObject({ name: 'CalendlyApiError', status: 500 });
});

