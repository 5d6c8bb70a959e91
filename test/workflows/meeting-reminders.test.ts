/**
 * Reminders before a meeting, on the real Temporal dev server and PostgreSQL, with offsets in seconds
 * (REMINDER_OFFSETS=6s,4s,2s) instead of 24h,1h,15m.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { plan as planQuery, type MeetingPlan } from '../../src/contract';
import { startReminderEndpoint, type ReminderEndpoint } from '../support/reminder-endpoint';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

const REMINDER_SECRET = 'reminder-webhook-secret-0123';
let system: TestSystem;
let endpoint: ReminderEndpoint;

beforeAll(async () => {
  endpoint = await startReminderEndpoint(REMINDER_SECRET);
  system = await startTestSystem({
    env: { REMINDER_OFFSETS: '6s,4s,2s', REMINDER_WEBHOOK_URL: endpoint.url, REMINDER_WEBHOOK_SECRET: REMINDER_SECRET },
  });
  await system.subscribeReceiver();
});
afterAll(async () => {
  await system.stop();
  await endpoint.close();
});

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

async function book(startTime: string, email = `reminded-${Date.now()}@example.com`) {
  const { invitee, deliveries } = await system.fake.bookMeeting({ email, name: 'Reminded Lead', startTime });
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }).then((row) => row ?? undefined));
  // The meeting's workflow is started by the step after the save.
  await eventually(() => system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).describe(), 30_000, "the meeting's workflow");
  return { invitee, meeting };
}

const remindersOf = (meetingId: string) => system.orm.em.fork().find(ReminderSchema, { meeting: meetingId }, { orderBy: { fireAt: 'asc' } });

const reminderEventsOf = async (meetingId: string) =>
  (await system.orm.em.fork().find(OutboxEventSchema, { type: 'reminder.sent' })).filter(
    (event) => (event.payload as { meeting: { id: string } }).meeting.id === meetingId,
  );

it('fires each reminder once, at its time, to the outbox and the signed reminder webhook (retried when it fails)', async () => {
  endpoint.failNext(1);
  const { invitee, meeting } = await book(inSeconds(10));
  const workflow = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));

  const planned = await eventually(async () => {
    const plan = await workflow.query(planQuery);
    return plan.reminders.length === 3 ? plan : undefined;
  });
  expect(planned.nextReminder).toMatchObject({ offsetSeconds: 6, state: 'scheduled' });
  expect(planned.reminders.map((reminder) => reminder.fireAt)).toEqual(
    [6, 4, 2].map((offset) => new Date(meeting.startTime.getTime() - offset * 1000).toISOString()),
  );

  const result = (await workflow.result()) as MeetingPlan;
  expect(result.reminders.map((reminder) => reminder.state)).toEqual(['sent', 'sent', 'sent']);

  const reminders = await remindersOf(meeting.id);
  expect(reminders.map((reminder) => [reminder.offsetSeconds, reminder.state])).toEqual([[6, 'sent'], [4, 'sent'], [2, 'sent']]);
  const lateness = reminders.map((reminder) => reminder.sentAt!.getTime() - reminder.fireAt.getTime());
  console.log(`reminder lateness (sent_at - fire_at), ms: ${lateness.join(', ')}`);
  for (const ms of lateness) {
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(1_500);
  }
  expect(await reminderEventsOf(meeting.id)).toHaveLength(3);

  const accepted = await eventually(() => {
    const ids = endpoint.received.filter((request) => request.accepted && request.body.meeting.id === meeting.id);
    return Promise.resolve(ids.length === 3 ? ids : undefined);
  });
  expect(new Set(accepted.map((request) => request.idempotencyKey))).toEqual(new Set(reminders.map((reminder) => reminder.id)));
  expect(accepted.every((request) => request.signatureValid)).toBe(true);
  expect(accepted[0].body).toMatchObject({ type: 'reminder.sent', reminder: { offsetSeconds: expect.any(Number) }, meeting: { inviteeUri: invitee.uri } });
  expect(endpoint.received.some((request) => !request.accepted)).toBe(true);
  expect((await remindersOf(meeting.id)).every((reminder) => reminder.outboundDeliveredAt !== null)).toBe(true);
});

it('records reminders whose time has passed at booking as skipped, never sent late', async () => {
  const { invitee, meeting } = await book(inSeconds(3));
  await system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).result();
  const reminders = await remindersOf(meeting.id);
  expect(reminders.map((reminder) => [reminder.offsetSeconds, reminder.state])).toEqual([[6, 'skipped'], [4, 'skipped'], [2, 'sent']]);
  expect(reminders[0].skippedAt).not.toBeNull();
  expect(await reminderEventsOf(meeting.id)).toHaveLength(1);
});

it('never fires a reminder once the meeting is canceled', async () => {
  const { invitee, meeting } = await book(inSeconds(9));
  await eventually(async () => ((await remindersOf(meeting.id)).length === 3 ? true : undefined));
  const { deliveries } = await system.fake.cancelInvitee(invitee.uri, { canceledBy: 'Reminded Lead', reason: 'Conflict', cancelerType: 'invitee' });
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);

  const result = (await system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).result()) as MeetingPlan;
  expect(result.status).toBe('canceled');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, meeting.startTime.getTime() - Date.now())));
  expect((await remindersOf(meeting.id)).map((reminder) => reminder.state)).toEqual(['canceled', 'canceled', 'canceled']);
  expect(await reminderEventsOf(meeting.id)).toHaveLength(0);
  expect(await system.orm.em.fork().findOneOrFail(MeetingSchema, { id: meeting.id })).toMatchObject({
    status: 'canceled',
    canceledBy: 'Reminded Lead',
    cancelerType: 'invitee',
    cancelReason: 'Conflict',
  });
});

it('plans reminders as UTC instants, unshifted by a daylight-saving change in the invitee zone', async () => {
  const production = await startTestSystem({ env: { REMINDER_OFFSETS: '24h,1h,15m' } });
  try {
    await production.subscribeReceiver();
    // New York moves its clocks on 2027-03-14; the meeting is the day after, booked before.
    const { invitee } = await production.fake.bookMeeting({
      email: `dst-${Date.now()}@example.com`,
      startTime: '2027-03-15T13:00:00.000000Z',
      timezone: 'America/New_York',
    });
    const workflow = production.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    const plan = await eventually(async () => {
      const current = await workflow.query(planQuery);
      return current.reminders.length === 3 ? current : undefined;
    });
    expect(plan.reminders.map((reminder) => reminder.fireAt)).toEqual(['2027-03-14T13:00:00.000Z', '2027-03-15T12:00:00.000Z', '2027-03-15T12:45:00.000Z']);
    // Months ahead, the workflow holds one timer: its history stays short.
    const history = await workflow.fetchHistory();
    expect(history.events!.length).toBeLessThan(40);
    await workflow.terminate('test done');
  } finally {
    await production.stop();
  }
});
