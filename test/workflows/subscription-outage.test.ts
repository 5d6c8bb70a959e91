/**
 * Calendly disabled the webhook subscription (the receiver failed its deliveries for 24 h) and bookings went on
 * meanwhile. The scheduled jobs heal both: the subscription check re-creates the subscription, the reconcile job
 * fetches every booking and cancellation made during the gap, and each meeting ends up in the database once.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { reconnectSubscription } from '../../src/subscriptions/reconnect';
import type { SyncSummary } from '../../src/contract';
import { ensureSchedules, scheduleIdsFor } from '../../src/worker/schedules';
import type { SubscriptionCheckResult } from '../../src/contract';
import { triggerAndWait } from '../support/schedules';
import { subscriptionKit, type SubscriptionKit } from '../support/subscriptions';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let kit: SubscriptionKit;
beforeAll(async () => {
  system = await startTestSystem();
  kit = subscriptionKit(system);
  // The defaults (look back 48 h, ahead 60 days); long intervals, as the test triggers the runs itself.
  await ensureSchedules(system.temporal, system.config.temporal.taskQueue, { ...system.config.schedules, reconcileEveryMinutes: 60, subscriptionCheckEveryMinutes: 60 });
});
afterAll(async () => {
  for (const id of Object.values(scheduleIdsFor(system.config.temporal.taskQueue))) await system.temporal.schedule.getHandle(id).delete();
  await system.stop();
});

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const meetingsOf = (inviteeUri: string) => system.orm.em.fork().find(MeetingSchema, { inviteeUri });

it('restores the subscription and every booking made while Calendly had disabled it, each exactly once', async () => {
  const { fake } = system;
  const ids = scheduleIdsFor(system.config.temporal.taskQueue);
  await reconnectSubscription({ calendly: kit.calendly, target: kit.target, removeOthers: true });
  const earlier = await fake.bookMeeting({ email: 'outage-earlier@example.com', startTime: hoursFromNow(72) });
  expect(earlier.deliveries.map(({ status }) => status)).toEqual([202]);
  await eventually(async () => ((await meetingsOf(earlier.invitee.uri)).length === 1 ? true : undefined), 30_000, 'the booking made before the outage');

  const [subscription] = fake.subscriptions();
  fake.disableSubscription(subscription.uri);

  // During the gap: nothing is delivered any more.
  const held = await fake.bookMeeting({ email: 'outage-held@example.com', startTime: hoursFromNow(-5) });
  const nextWeek = await fake.bookMeeting({ email: 'outage-next-week@example.com', startTime: hoursFromNow(7 * 24) });
  const guest = await fake.bookMeeting({ email: 'outage-guest@example.com', startTime: nextWeek.event.start_time, eventUri: nextWeek.event.uri });
  const canceledAgain = await fake.bookMeeting({ email: 'outage-changed-mind@example.com', startTime: hoursFromNow(3 * 24) });
  const cancellations = [await fake.cancelInvitee(canceledAgain.invitee.uri), await fake.cancelInvitee(earlier.invitee.uri, { reason: 'moved' })];
  for (const { deliveries } of [held, nextWeek, guest, ...cancellations]) expect(deliveries).toEqual([]);

  const healingStarted = Date.now();
  const [check, reconcile] = await Promise.all([
    triggerAndWait<SubscriptionCheckResult>(system.temporal, ids.subscriptionCheck),
    triggerAndWait<SyncSummary>(system.temporal, ids.reconcile),
  ]);
  const expected = [
    { invitee: held.invitee, status: 'active' },
    { invitee: nextWeek.invitee, status: 'active' },
    { invitee: guest.invitee, status: 'active' },
    { invitee: canceledAgain.invitee, status: 'canceled' },
    { invitee: earlier.invitee, status: 'canceled' },
  ];
  await eventually(
    async () => {
      for (const { invitee, status } of expected) {
        const meetings = await meetingsOf(invitee.uri);
        if (meetings.length !== 1 || meetings[0].status !== status) return undefined;
      }
      return true;
    },
    45_000,
    'every booking and cancellation of the gap stored',
  );
  const healedInMs = Date.now() - healingStarted;
  console.log(`Healed in ${healedInMs} ms: subscription re-created (${check.subscriptionUri}), ${reconcile.started} missed deliveries fed`);

  expect(check).toMatchObject({ problems: ['disabled'], repaired: true });
  // held, nextWeek, guest and canceledAgain (created + canceled) were never delivered; earlier only lost its cancellation.
  expect(reconcile).toMatchObject({ invitees: 5, started: 6, alreadyKnown: 1 });
  expect(healedInMs).toBeLessThan(30_000);

  const [restored] = fake.subscriptions();
  expect(fake.subscriptions()).toHaveLength(1);
  expect(restored).toMatchObject({ callback_url: kit.target.callbackUrl, state: 'active', retry_started_at: null });
  const after = await fake.bookMeeting({ email: 'outage-after@example.com', startTime: hoursFromNow(48) });
  expect(after.deliveries.map(({ url, status }) => [url, status])).toEqual([[kit.target.callbackUrl, 202]]);
  await eventually(async () => ((await meetingsOf(after.invitee.uri)).length === 1 ? true : undefined), 30_000, 'the booking made after healing');

  // The next runs find nothing left to do.
  expect(await triggerAndWait<SyncSummary>(system.temporal, ids.reconcile)).toMatchObject({ invitees: 6, started: 0, alreadyKnown: 8 });
  expect(await triggerAndWait<SubscriptionCheckResult>(system.temporal, ids.subscriptionCheck)).toMatchObject({ problems: [], repaired: false });
  for (const { invitee } of [...expected, after]) expect(await meetingsOf(invitee.uri)).toHaveLength(1);
});
