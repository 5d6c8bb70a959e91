/** The reconcile schedule: bookings that never arrived as webhooks are fetched from the Calendly API, once. */
import { MeetingSchema } from '../../src/database/entities/meeting';
import type { SyncSummary } from '../../src/contract';
import { ensureSchedules, scheduleIdsFor } from '../../src/worker/schedules';
import { recordHistory } from '../support/histories';
import { lastScheduledRun, triggerAndWait } from '../support/schedules';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
let scheduleId: string;
beforeAll(async () => {
  system = await startTestSystem();
  const { taskQueue } = system.config.temporal;
  await ensureSchedules(system.temporal, taskQueue, {
    ...system.config.schedules,
    reconcileEveryMinutes: 60,
    reconcileLookBackHours: 24,
    reconcileLookAheadDays: 60,
    subscriptionCheckEveryMinutes: 60,
  });
  scheduleId = scheduleIdsFor(taskQueue).reconcile;
});
afterAll(async () => {
  for (const id of Object.values(scheduleIdsFor(system.config.temporal.taskQueue))) await system.temporal.schedule.getHandle(id).delete();
  await system.stop();
});

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const meetingCount = (inviteeUri: string) => system.orm.em.fork().count(MeetingSchema, { inviteeUri });

it('stores every undelivered booking starting in the window (now-24 h .. now+60 days) exactly once, run after run', async () => {
  const book = (name: string, startTime: string) =>
    system.fake.bookMeeting({ email: `reconcile-${name}-${Date.now()}@example.com`, startTime }, { deliver: false });
  const inWindow = [
    await book('started-3h-ago', hoursFromNow(-3)),
    await book('tomorrow', hoursFromNow(24)),
    await book('in-59-days', hoursFromNow(59 * 24)),
  ];
  const outside = [await book('started-30h-ago', hoursFromNow(-30)), await book('in-90-days', hoursFromNow(90 * 24))];

  const first = await triggerAndWait<SyncSummary>(system.temporal, scheduleId);
  expect(first).toMatchObject({ events: 3, invitees: 3, started: 3, alreadyKnown: 0 });
  const { workflowId, firstExecutionRunId } = await lastScheduledRun(system.temporal, scheduleId);
  await recordHistory(system.temporal, 'reconcile-bookings-personal-token.json', workflowId, firstExecutionRunId);
  // Its sync shows on its connection, as an OAuth connection's does.
  const { body } = await system.get(`/api/connection?organization=${encodeURIComponent(system.fake.organizationUri)}`, API_TOKEN);
  expect(body.connection).toMatchObject({ id: PERSONAL_TOKEN_CONNECTION_ID, sync: { state: 'idle', progress: { message: 'done', started: 3 } } });
  expect(body.connection.lastSyncedAt).not.toBeNull();
  for (const { invitee } of inWindow) {
    await eventually(async () => ((await meetingCount(invitee.uri)) === 1 ? true : undefined), 30_000, `meeting of ${invitee.email}`);
  }
  for (const { invitee } of outside) expect(await meetingCount(invitee.uri)).toBe(0);

  const second = await triggerAndWait<SyncSummary>(system.temporal, scheduleId);
  expect(second).toMatchObject({ events: 3, invitees: 3, started: 0, alreadyKnown: 3 });
  for (const { invitee } of inWindow) expect(await meetingCount(invitee.uri)).toBe(1);
});
