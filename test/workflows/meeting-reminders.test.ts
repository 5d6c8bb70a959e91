/**
 * Reminders before a meeting, on the real Temporal dev server and PostgreSQL. The one test here that waits for a
 * reminder's time uses offsets of seconds (REMINDER_OFFSETS=1h,2s); what the workflow decides is tested without a
 * server in test/workflows/decisions/, and the planning and firing in the database in test/database/reminders.test.ts.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { meetingWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { plan as planQuery, type MeetingPlan } from '../../src/contract';
import { recordHistory } from '../support/histories';
import { startReminderEndpoint, type ReminderEndpoint } from '../support/reminder-endpoint';
import { eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

const REMINDER_SECRET = 'reminder-webhook-secret-0123';
const HOUR = 3_600;
let system: TestSystem;
let endpoint: ReminderEndpoint;

beforeAll(async () => {
  endpoint = await startReminderEndpoint(REMINDER_SECRET);
  system = await startTestSystem({
    env: { REMINDER_OFFSETS: '1h,2s', REMINDER_WEBHOOK_URL: endpoint.url, REMINDER_WEBHOOK_SECRET: REMINDER_SECRET },
  });
  await system.subscribeReceiver();
});
afterAll(async () => {
  await system.stop();
  await endpoint.close();
});

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

async function book(startTime: string) {
  const { invitee, deliveries } = await system.fake.bookMeeting({ email: `reminded-${Date.now()}@example.com`, name: 'Reminded Lead', startTime });
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }).then((row) => row ?? undefined));
  const workflow = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
  // The meeting's workflow plans its reminders once its delivery is processed.
  const planned = await eventually(async () => {
    const plan = await workflow.query(planQuery);
    return plan?.reminders.length === 2 ? plan : undefined;
  }, 30_000, "the meeting's workflow and its plan");
  return { invitee, meeting, workflow, planned };
}

const remindersOf = (meetingId: string) => system.orm.em.fork().find(ReminderSchema, { meeting: meetingId }, { orderBy: { fireAt: 'asc' } });

const reminderEventsOf = async (meetingId: string) =>
  (await system.orm.em.fork().find(OutboxEventSchema, { type: 'reminder.sent' })).filter(
    (event) => (event.payload as { meeting: { id: string } }).meeting.id === meetingId,
  );

it('fires a reminder once, at its time, to the outbox and the signed reminder webhook (retried when it fails); one already past is skipped', async () => {
  endpoint.failNext(1);
  const { invitee, meeting, workflow, planned } = await book(inSeconds(7));
  expect(planned.reminders.map((reminder) => [reminder.offsetSeconds, reminder.fireAt, reminder.state])).toEqual([
    [HOUR, new Date(meeting.startTime.getTime() - HOUR * 1000).toISOString(), 'skipped'],
    [2, new Date(meeting.startTime.getTime() - 2_000).toISOString(), 'scheduled'],
  ]);
  expect(planned.nextReminder).toMatchObject({ offsetSeconds: 2, state: 'scheduled' });

  const result = (await workflow.result()) as MeetingPlan;
  expect(result.reminders.map((reminder) => reminder.state)).toEqual(['skipped', 'sent']);

  const reminders = await remindersOf(meeting.id);
  expect(reminders.map((reminder) => [reminder.offsetSeconds, reminder.state])).toEqual([[HOUR, 'skipped'], [2, 'sent']]);
  const [skipped, sent] = reminders;
  expect(skipped.skippedAt).not.toBeNull();
  const lateness = sent.sentAt!.getTime() - sent.fireAt.getTime();
  console.log(`reminder lateness (sent_at - fire_at): ${lateness} ms`);
  expect(lateness).toBeGreaterThanOrEqual(0);
  expect(lateness).toBeLessThan(1_500);
  expect(await reminderEventsOf(meeting.id)).toHaveLength(1);

  const accepted = await eventually(() => {
    const requests = endpoint.received.filter((request) => request.accepted && request.body.meeting.id === meeting.id);
    return Promise.resolve(requests.length === 1 ? requests : undefined);
  });
  expect(accepted[0]).toMatchObject({ idempotencyKey: sent.id, signatureValid: true });
  expect(accepted[0].body).toMatchObject({ type: 'reminder.sent', reminder: { offsetSeconds: 2 }, meeting: { inviteeUri: invitee.uri } });
  expect(endpoint.received.some((request) => !request.accepted)).toBe(true);
  await eventually(async () => ((await remindersOf(meeting.id))[1].outboundDeliveredAt !== null ? true : undefined), 10_000, 'the delivery recorded');
});

it('cancels the pending reminders when the meeting is canceled, and the workflow ends without sending any', async () => {
  const { invitee, meeting, workflow } = await book(inSeconds(2 * HOUR));
  expect((await remindersOf(meeting.id)).map((reminder) => reminder.state)).toEqual(['scheduled', 'scheduled']);

  await system.fake.cancelInvitee(invitee.uri, { canceledBy: 'Reminded Lead', reason: 'Conflict', cancelerType: 'invitee' }, { deliver: false });
  const canceled = system.fake.webhookDelivery('invitee.canceled', invitee.uri, SIGNING_KEY);
  const response = await system.deliver(canceled.body, { signature: canceled.signature });
  expect(response.status).toBe(202);
  await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
  expect(response.body.workflowId).toBe(workflow.workflowId);

  const result = (await workflow.result()) as MeetingPlan;
  await recordHistory(system.temporal, 'meeting-booked-then-canceled.json', workflow.workflowId);
  expect(result).toMatchObject({ status: 'canceled', nextReminder: null });
  expect(result.reminders.map((reminder) => reminder.state)).toEqual(['canceled', 'canceled']);
  expect((await remindersOf(meeting.id)).map((reminder) => reminder.state)).toEqual(['canceled', 'canceled']);
  expect(await reminderEventsOf(meeting.id)).toHaveLength(0);
  expect(await system.orm.em.fork().findOneOrFail(MeetingSchema, { id: meeting.id })).toMatchObject({
    status: 'canceled',
    canceledBy: 'Reminded Lead',
    cancelerType: 'invitee',
    cancelReason: 'Conflict',
  });
});
