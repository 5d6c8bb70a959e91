/** The subscription check schedule: re-creates the subscription when it is missing, wrong or disabled by Calendly. */
import { ensureSchedules, scheduleIdsFor } from '../../src/worker/schedules';
import type { SubscriptionCheckResult } from '../../src/contract';
import { recordHistory } from '../support/histories';
import { lastScheduledRun, triggerAndWait } from '../support/schedules';
import { FRONTEND_URL, subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let kit: SubscriptionKit;
let scheduleId: string;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
  const { taskQueue } = system.config.temporal;
  // Long intervals: the test triggers the runs itself.
  await ensureSchedules(system.temporal, taskQueue, { ...system.config.schedules, reconcileEveryMinutes: 60, subscriptionCheckEveryMinutes: 60 });
  scheduleId = scheduleIdsFor(taskQueue).subscriptionCheck;
});
afterAll(async () => {
  for (const id of Object.values(scheduleIdsFor(system.config.temporal.taskQueue))) await system.temporal.schedule.getHandle(id).delete();
  await system.stop();
});
beforeEach(() => kit.reset());

const check = () => triggerAndWait<SubscriptionCheckResult>(system.temporal, scheduleId);

async function expectDelivering() {
  const [subscription] = system.fake.subscriptions();
  expect(system.fake.subscriptions()).toHaveLength(1);
  expect(subscription).toMatchObject({ callback_url: kit.target.callbackUrl, state: 'active', retry_started_at: null });
  const { deliveries } = await system.fake.bookMeeting({ email: `check-${Date.now()}@example.com`, startTime: '2032-01-10T10:00:00Z' });
  expect(deliveries.map(({ status }) => status)).toEqual([202]);
  return subscription;
}

it('creates the subscription when there is none', async () => {
  const result = await check();
  expect(result).toMatchObject({ problems: ['missing'], repaired: true });
  expect(result.subscriptionUri).toBe((await expectDelivering()).uri);
  const { workflowId, firstExecutionRunId } = await lastScheduledRun(system.temporal, scheduleId);
  await recordHistory(system.temporal, 'subscription-check-personal-token.json', workflowId, firstExecutionRunId);
  // Its connection's status shows the subscription, as an OAuth connection's does.
  const { body } = await system.get(`/api/connection?organization=${encodeURIComponent(system.fake.organizationUri)}`, API_TOKEN);
  expect(body.connection.webhook).toEqual({ state: 'active', active: true, subscriptionUri: result.subscriptionUri, detail: null });
});

it('re-creates the subscription that Calendly disabled after 24 h of failed deliveries', async () => {
  const disabled = await kit.create(kit.target.callbackUrl);
  system.fake.disableSubscription(disabled.uri);
  const result = await check();
  expect(result).toMatchObject({ problems: ['disabled'], repaired: true });
  const subscription = await expectDelivering();
  expect(subscription.uri).not.toBe(disabled.uri);
  expect(result.subscriptionUri).toBe(subscription.uri);
});

it('changes nothing when the subscription is right', async () => {
  const right = await kit.create(kit.target.callbackUrl);
  const mark = kit.mark();
  expect(await check()).toEqual({ problems: [], repaired: false, subscriptionUri: right.uri });
  expect(kit.changesSince(mark)).toEqual([]);
});

it('leaves subscriptions at other URLs to a person', async () => {
  const right = await kit.create(kit.target.callbackUrl);
  const other = await kit.create(FRONTEND_URL);
  const mark = kit.mark();
  expect(await check()).toEqual({ problems: ['other-subscriptions'], repaired: false, subscriptionUri: right.uri });
  expect(kit.changesSince(mark)).toEqual([]);
  expect(system.fake.subscriptions().map(({ uri }) => uri)).toEqual([right.uri, other.uri]);
});

it('retries through a Calendly hiccup', async () => {
  system.fake.failNext('/webhook_subscriptions', { status: 503, count: 2 });
  expect(await check()).toMatchObject({ problems: ['missing'], repaired: true });
  await expectDelivering();
});
