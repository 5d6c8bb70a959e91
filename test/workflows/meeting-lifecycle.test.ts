/**
 * A meeting's life after booking: cancel, reschedule in either order, no-shows, out-of-order and repeated
 * deliveries, group events. Real receiver, Temporal and PostgreSQL. Meetings are hours ahead: what a change does to
 * the reminders shows in the meeting workflows' plans and the reminder rows, without waiting for any reminder's time
 * (one test does, in meeting-reminders.test.ts).
 */
import { MeetingSchema, type Meeting } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { plan as planQuery, type MeetingPlan } from '../../src/contract';
import { meetingWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { API_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';
import { inviteeDelivery, workflowIdFor } from '../../src/deliveries/parse';
import { processInviteeDelivery } from '../../workflows';
import { randomUUID } from 'node:crypto';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ env: { REMINDER_OFFSETS: '1h,30m' } });
  await system.subscribeReceiver();
});
afterAll(() => system.stop());

const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
let counter = 0;
const uniqueEmail = () => `life-${Date.now()}-${++counter}@example.com`;

const meetingOf = (inviteeUri: string) => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri }, { populate: ['lead'] });
const remindersOf = async (inviteeUri: string) => {
  const meeting = await meetingOf(inviteeUri);
  if (!meeting) return [];
  const reminders = await system.orm.em.fork().find(ReminderSchema, { meeting: meeting.id }, { orderBy: { fireAt: 'asc' } });
  return reminders.map((reminder) => reminder.state);
};
// The meeting's workflow may not exist for a moment (the fake Calendly delivers in the background).
const finished = (inviteeUri: string) =>
  eventually(() => system.temporal.workflow.getHandle(meetingWorkflowId(inviteeUri, PERSONAL_TOKEN_CONNECTION_ID)).result() as Promise<MeetingPlan>, 30_000, `the workflow of ${inviteeUri}`);
/** The plan of a meeting whose workflow waits for its reminders, once both are planned. */
const waitingPlan = (inviteeUri: string) =>
  eventually(async () => {
    const plan = await system.temporal.workflow.getHandle(meetingWorkflowId(inviteeUri, PERSONAL_TOKEN_CONNECTION_ID)).query(planQuery);
    return plan?.reminders.length === 2 ? plan : undefined;
  }, 30_000, `the plan of ${inviteeUri}`);

async function waitForMeeting(inviteeUri: string, accept: (meeting: Meeting) => boolean = () => true): Promise<Meeting> {
  return eventually(async () => {
    const meeting = await meetingOf(inviteeUri);
    return meeting && accept(meeting) ? meeting : undefined;
  }, 30_000, `meeting ${inviteeUri}`);
}

describe.each(['canceled-first', 'created-first'] as const)('a reschedule delivered %s', (order) => {
  it('marks the old meeting rescheduled and linked, cancels its reminders, and the new one gets its own', async () => {
    const email = uniqueEmail();
    const { invitee: old } = await system.fake.bookMeeting({ email, name: 'Moving Lead', startTime: inHours(5) });
    await waitForMeeting(old.uri);
    await eventually(async () => ((await remindersOf(old.uri)).length === 2 ? true : undefined));

    const { newInvitee, deliveries } = await system.fake.rescheduleInvitee(old.uri, { startTime: inHours(3) }, { order });
    expect(deliveries.map((attempt) => attempt.status)).toEqual([202, 202]);

    const oldMeeting = await waitForMeeting(old.uri, (meeting) => meeting.status === 'rescheduled');
    expect(oldMeeting).toMatchObject({ rescheduled: true, newInviteeUri: newInvitee.uri, canceledAt: expect.any(Date) });
    expect((await finished(old.uri)).status).toBe('rescheduled');
    expect(await remindersOf(old.uri)).toEqual(['canceled', 'canceled']);

    const newMeeting = await waitForMeeting(newInvitee.uri);
    expect(newMeeting).toMatchObject({ status: 'active', oldInviteeUri: old.uri });
    const newPlan = await waitingPlan(newInvitee.uri);
    expect(newPlan).toMatchObject({ status: 'active', startTime: newMeeting.startTime.toISOString() });
    expect(newPlan.reminders.map((reminder) => reminder.state)).toEqual(['scheduled', 'scheduled']);
    expect(await remindersOf(newInvitee.uri)).toEqual(['scheduled', 'scheduled']);

    // The lead's history shows both meetings.
    const history = await system.get(`/api/meetings?email=${encodeURIComponent(email)}`, API_TOKEN);
    expect(history.body.data.map((meeting: { inviteeUri: string; status: string }) => [meeting.inviteeUri, meeting.status])).toEqual([
      [newInvitee.uri, 'active'],
      [old.uri, 'rescheduled'],
    ]);

    // Every delivery again, as Calendly retries: all duplicates, nothing changes.
    const before = await system.orm.em.fork().count(OutboxEventSchema, {});
    for (const attempt of system.fake.deliveryLog().filter((entry) => [old.uri, newInvitee.uri].some((uri) => entry.body.includes(uri)))) {
      const again = await system.deliver(attempt.body);
      expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
    }
    expect(await system.orm.em.fork().count(OutboxEventSchema, {})).toBe(before);
    expect(await remindersOf(old.uri)).toEqual(['canceled', 'canceled']);
  });
});

it("answers a reschedule's two deliveries racing with their duplicates 200 or 202, never 5xx, and ends as one reschedule", async () => {
  const { invitee: old } = await system.fake.bookMeeting({ email: uniqueEmail(), name: 'Racing Lead', startTime: inHours(6) });
  await waitForMeeting(old.uri);
  const { newInvitee } = await system.fake.rescheduleInvitee(old.uri, { startTime: inHours(4) }, { deliver: false });
  const canceled = system.fake.webhookDelivery('invitee.canceled', old.uri, SIGNING_KEY);
  const created = system.fake.webhookDelivery('invitee.created', newInvitee.uri, SIGNING_KEY);
  const copies = [canceled, created].flatMap((delivery) => Array.from({ length: 6 }, () => delivery));
  const answers = await Promise.all(copies.map(({ body, signature }) => system.deliver(body, { signature })));

  expect(answers.map((answer) => answer.status).filter((status) => status !== 200 && status !== 202)).toEqual([]);
  // One copy of each was taken; the others were answered as duplicates.
  expect(answers.filter((answer) => answer.status === 202)).toHaveLength(2);
  await waitForMeeting(old.uri, (meeting) => meeting.status === 'rescheduled');
  expect((await finished(old.uri)).status).toBe('rescheduled');
  expect((await waitingPlan(newInvitee.uri)).status).toBe('active');
  expect(await system.orm.em.fork().count(MeetingSchema, { inviteeUri: newInvitee.uri })).toBe(1);
});

describe('a meeting whose workflows were started by the code before deliveries went to the meeting', () => {
  it("takes a later delivery into its running workflow: the cancel ends it, as a delivery of today's shape would", async () => {
    const { invitee } = await system.fake.bookMeeting({ email: uniqueEmail(), startTime: inHours(7) }, { deliver: false });
    const { delivery } = inviteeDelivery('invitee.created', 'current', invitee.event, invitee.uri, invitee.email, null, PERSONAL_TOKEN_CONNECTION_ID);
    // As the code before did: a delivery workflow of its own, whose last step starts the meeting's by Signal-With-Start.
    const before = await system.temporal.workflow.start(processInviteeDelivery, {
      workflowId: workflowIdFor(delivery.dedupKey),
      taskQueue: system.config.temporal.taskQueue,
      args: [{ ...delivery, deliveryId: randomUUID(), receivedAt: new Date().toISOString(), source: 'webhook' }],
    });
    await expect(before.result()).resolves.toMatchObject({ outcome: 'processed' });
    const meeting = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    expect((await waitingPlan(invitee.uri)).reminders.map((reminder) => reminder.state)).toEqual(['scheduled', 'scheduled']);

    await system.fake.cancelInvitee(invitee.uri, { reason: 'Moved on' }, { deliver: false });
    const canceled = system.fake.webhookDelivery('invitee.canceled', invitee.uri, SIGNING_KEY);
    const answer = await system.deliver(canceled.body, { signature: canceled.signature });
    expect(answer).toMatchObject({ status: 202, body: { workflowId: meeting.workflowId } });
    await expect(meeting.result()).resolves.toMatchObject({ status: 'canceled', nextReminder: null });
    expect(await remindersOf(invitee.uri)).toEqual(['canceled', 'canceled']);
    // Its redelivery is a duplicate of the one taken.
    expect(await system.deliver(canceled.body, { signature: canceled.signature })).toMatchObject({ status: 200, body: { duplicate: true } });
  });
});

it('ends canceled, with no reminder sent, when the cancel arrives before the booking', async () => {
  const { invitee } = await system.fake.bookMeeting({ email: uniqueEmail(), startTime: inHours(3) }, { deliver: false });
  const created = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  await system.fake.cancelInvitee(invitee.uri, { reason: 'Changed my mind' }, { deliver: false });
  const canceled = system.fake.webhookDelivery('invitee.canceled', invitee.uri, SIGNING_KEY);

  expect((await system.deliver(canceled.body, { signature: canceled.signature })).status).toBe(202);
  expect((await system.deliver(created.body, { signature: created.signature })).status).toBe(202);

  await waitForMeeting(invitee.uri, (meeting) => meeting.status === 'canceled');
  // Its workflow has ended canceled, so no reminder's time can come: none is left to send.
  const plan = await finished(invitee.uri);
  expect(plan).toMatchObject({ status: 'canceled', nextReminder: null });
  expect(plan.reminders.map((reminder) => reminder.state)).not.toContain('scheduled');
  expect(await meetingOf(invitee.uri)).toMatchObject({ status: 'canceled', cancelReason: 'Changed my mind' });
  expect(await remindersOf(invitee.uri)).not.toContain('sent');
});

it('marks and unmarks a no-show, in the order Calendly made the changes, from either payload form', async () => {
  const { invitee } = await system.fake.bookMeeting({ email: uniqueEmail(), startTime: inHours(3) });
  await waitForMeeting(invitee.uri);

  const { deliveries } = await system.fake.markNoShow(invitee.uri);
  expect(deliveries.map((attempt) => attempt.status)).toEqual([202]);
  const marked = await waitForMeeting(invitee.uri, (meeting) => meeting.noShowAt !== null);
  expect(marked.status).toBe('active');

  await system.fake.unmarkNoShow(invitee.uri);
  await waitForMeeting(invitee.uri, (meeting) => meeting.noShowAt === null);

  // A minimal payload (only the invitee's URI) for an older mark, arriving late: it must not undo the unmark.
  const envelope = (createdAt: string) =>
    JSON.stringify({
      created_at: createdAt,
      created_by: system.fake.userUri,
      event: 'invitee_no_show.created',
      payload: { uri: `${system.fake.url}/invitee_no_shows/LATE`, invitee: invitee.uri, created_at: createdAt },
    });
  const late = await system.deliver(envelope('2020-01-01T00:00:00.000000Z'));
  expect(late.status).toBe(202);
  await deliveryOutcome(system, late.body.trackingId);
  expect((await meetingOf(invitee.uri))!.noShowAt).toBeNull();

  // A newer mark in the minimal form is read from the invitee and applied.
  const fresh = await system.deliver(envelope(new Date().toISOString().replace('Z', '000Z')));
  await deliveryOutcome(system, fresh.body.trackingId);
  expect((await meetingOf(invitee.uri))!.noShowAt).not.toBeNull();

  const types = (await system.orm.em.fork().find(OutboxEventSchema, { type: { $like: 'meeting.no_show%' } }, { orderBy: { id: 'asc' } }))
    .filter((event) => (event.payload as { meeting: { inviteeUri: string } }).meeting.inviteeUri === invitee.uri)
    .map((event) => event.type);
  expect(types).toEqual(['meeting.no_show', 'meeting.no_show_removed', 'meeting.no_show']);
});

it('gives each invitee of a group event its own meeting and reminders; one canceling leaves the others', async () => {
  const startTime = inHours(3);
  const { event, invitee: first } = await system.fake.bookMeeting({ email: uniqueEmail(), startTime });
  const { invitee: second } = await system.fake.bookMeeting({ email: uniqueEmail(), startTime, eventUri: event.uri });
  await waitForMeeting(first.uri);
  await waitForMeeting(second.uri);
  await eventually(async () => ((await remindersOf(second.uri)).length === 2 ? true : undefined));

  await system.fake.cancelInvitee(second.uri, { reason: 'Cannot make it' });
  await waitForMeeting(second.uri, (meeting) => meeting.status === 'canceled');

  expect((await finished(second.uri)).status).toBe('canceled');
  expect((await waitingPlan(first.uri)).reminders.map((reminder) => reminder.state)).toEqual(['scheduled', 'scheduled']);
  expect(await remindersOf(first.uri)).toEqual(['scheduled', 'scheduled']);
  expect(await meetingOf(first.uri)).toMatchObject({ status: 'active', scheduledEventUri: event.uri });
  expect(await remindersOf(second.uri)).toEqual(['canceled', 'canceled']);
});
