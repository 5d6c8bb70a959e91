/**
 * The worker's Prometheus counters move when real activities run: a booking through the whole system (receiver,
 * in-process worker, fake Calendly) is counted as saved, its API calls by route template, and its reminder, fired a
 * few seconds later, as sent with its lateness. The rate-limit wait is counted by the Calendly client.
 */
import { register, type Counter, type Histogram } from 'prom-client';
import { CalendlyAccounts } from '../../activities/calendly-accounts';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { createSubscriptionActivities } from '../../activities/subscriptions';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { endpointOf } from '../../src/calendly/metrics';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { CALENDLY_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

jest.setTimeout(60_000);

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ env: { REMINDER_OFFSETS: '2s' } });
  await system.subscribeReceiver();
});
afterAll(() => system.stop());

async function valueOf(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = register.getSingleMetric(name) as Counter | Histogram | undefined;
  if (!metric) return 0;
  const { values } = await metric.get();
  // A histogram's observations are its `_count` sample.
  const sampleName = name.endsWith('_seconds') ? `${name}_count` : name;
  return values
    .filter((value) => ((value as { metricName?: string }).metricName ?? name) === sampleName)
    .filter((value) => Object.entries(labels).every(([label, wanted]) => String(value.labels[label]) === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}

it('counts a saved booking, its Calendly API calls and its reminder, sent with its lateness', async () => {
  const invitee = '/scheduled_events/{uuid}/invitees/{uuid}';
  const before = {
    saved: await valueOf('calendly_bookings_saved_total'),
    inviteeCalls: await valueOf('calendly_api_requests_total', { endpoint: invitee, status: '200' }),
    sent: await valueOf('calendly_reminders_sent_total'),
    lateness: await valueOf('calendly_reminder_lateness_seconds'),
  };

  // Its reminder fires 2 s before the start: late enough that a slow booking on a busy machine is not skipped.
  const startTime = new Date(Date.now() + 15_000).toISOString();
  const { invitee: booked, deliveries } = await system.fake.bookMeeting({ email: `metrics-${Date.now()}@example.com`, name: 'Counted Lead', startTime });
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: booked.uri }).then((row) => row ?? undefined));
  await eventually(async () => {
    const [reminder] = await system.orm.em.fork().find(ReminderSchema, { meeting: meeting.id });
    return reminder?.state === 'sent' ? reminder : undefined;
  }, 45_000, 'the reminder sent');

  expect(await valueOf('calendly_bookings_saved_total')).toBeGreaterThanOrEqual(before.saved + 1);
  expect(await valueOf('calendly_api_requests_total', { endpoint: invitee, status: '200' })).toBeGreaterThanOrEqual(before.inviteeCalls + 1);
  // Counted just after the row is committed as sent, by the same activity, per organization.
  const organization = { organization: system.fake.organizationUri };
  await eventually(async () => ((await valueOf('calendly_reminders_sent_total')) > before.sent ? true : undefined), 10_000, 'the reminder counted');
  expect(await valueOf('calendly_reminders_sent_total', organization)).toBe(before.sent + 1);
  expect(await valueOf('calendly_reminder_lateness_seconds', organization)).toBe(before.lateness + 1);
  expect(await valueOf('calendly_bookings_saved_total', organization)).toBeGreaterThanOrEqual(before.saved + 1);

  const text = await register.metrics();
  expect(text).toMatch(/^calendly_reminder_lateness_seconds_bucket\{le="\+Inf",organization="[^"]+"\} [1-9]/m);
  // Route templates only, never a raw URI or uuid.
  const endpoints = [...text.matchAll(/^calendly_api_requests_total\{endpoint="([^"]*)"/gm)].map((match) => match[1]);
  expect(endpoints.length).toBeGreaterThan(0);
  for (const endpoint of endpoints) expect(endpoint).toMatch(/^(\/[a-z_]+|\/\{uuid\}|\/me)+$|^other$/);
});

it('counts a rate-limit wait and the 429 that caused it, under the organization the client learnt from /users/me', async () => {
  const client = new CalendlyApiClient({ baseUrl: system.fake.url, token: CALENDLY_TOKEN });
  const organization = (await client.getCurrentUser()).current_organization;
  const waits = await valueOf('calendly_api_rate_limit_waits_total', { organization });
  const refused = await valueOf('calendly_api_requests_total', { endpoint: '/scheduled_events', status: '429', organization });
  system.fake.failNext('/scheduled_events', { status: 429, count: 1 });
  const waited: number[] = [];
  const pages = client.listScheduledEvents({ organization }, { whenRateLimited: (seconds) => Promise.resolve(void waited.push(seconds)) });
  for await (const page of pages) expect(Array.isArray(page)).toBe(true);
  expect(waited).toHaveLength(1);
  expect(await valueOf('calendly_api_rate_limit_waits_total', { organization })).toBe(waits + 1);
  expect(await valueOf('calendly_api_requests_total', { endpoint: '/scheduled_events', status: '429', organization })).toBe(refused + 1);
});

it('counts what the subscription check finds wrong, by problem and organization', async () => {
  const calendly = new CalendlyApiClient({ baseUrl: system.fake.url, token: CALENDLY_TOKEN });
  const target = { callbackUrl: 'https://nobody.example.com/calendly/webhook', signingKey: 'unused-signing-key-0123456789' };
  const { inspectWebhookSubscription } = createSubscriptionActivities({
    orm: system.orm,
    accounts: new CalendlyAccounts({ orm: system.orm, personalToken: { calendly, target } }),
    temporal: system.temporal,
    taskQueue: system.config.temporal.taskQueue,
  });
  const labels = { problem: 'missing', organization: system.fake.organizationUri };
  const missing = await valueOf('calendly_webhook_subscription_problems_total', labels);
  expect((await inspectWebhookSubscription({ connectionId: PERSONAL_TOKEN_CONNECTION_ID })).problems).toContain('missing');
  expect(await valueOf('calendly_webhook_subscription_problems_total', labels)).toBe(missing + 1);
});

it('names each call by its route template', () => {
  expect(endpointOf('/scheduled_events/AAA?count=100')).toBe('/scheduled_events/{uuid}');
  expect(endpointOf('/scheduled_events/AAA/invitees/BBB')).toBe('/scheduled_events/{uuid}/invitees/{uuid}');
  expect(endpointOf('/scheduled_events/AAA/invitees?page_token=x')).toBe('/scheduled_events/{uuid}/invitees');
  expect(endpointOf('/users/me')).toBe('/users/me');
  expect(endpointOf('/webhook_subscriptions/CCC')).toBe('/webhook_subscriptions/{uuid}');
  expect(endpointOf('/somewhere/else/entirely/x/y')).toBe('other');
});
