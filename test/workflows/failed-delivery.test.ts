/**
 * A delivery that fails for good (the event was deleted in Calendly, the API token was revoked) is recorded as
 * failed with what it was about; when it was the booking's first, its meeting's workflow has no meeting to keep and
 * fails, as ops see it: a redelivery, the backfill and `replay-deliveries --failed` each feed it again (a new run of
 * the same ID) once the cause is gone. A failed cancel still cancels.
 * Real receiver, worker, Temporal and PostgreSQL, against the fake Calendly API.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { MeetingPlan } from '../../src/contract';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { syncBookings } from '../../src/deliveries/backfill';
import { replayUnprocessedDeliveries } from '../../src/deliveries/replay';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { deliveryOutcome } from '../support/delivery-outcome';
import { recordHistory } from '../support/histories';
import { CALENDLY_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ env: { REMINDER_OFFSETS: '1h,30m' } });
});
afterAll(() => system.stop());

let counter = 0;
const uniqueEmail = () => `failed-${Date.now()}-${++counter}@example.com`;
const meetingOf = (inviteeUri: string) => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri });
const logRow = (workflowId: string) => system.orm.em.fork().findOneOrFail(WebhookDeliverySchema, { workflowId });

async function book(startTime = '2033-05-01T10:00:00.000000Z') {
  return system.fake.bookMeeting({ email: uniqueEmail(), startTime }, { deliver: false });
}

/** Delivers `invitee.created` of the invitee while Calendly answers 401 (a revoked token): it fails for good. */
async function deliverWhileTokenRevoked(inviteeUri: string) {
  const { body, signature } = system.fake.webhookDelivery('invitee.created', inviteeUri, SIGNING_KEY);
  system.fake.failNext('/scheduled_events', { status: 401, count: 1 });
  const response = await system.deliver(body, { signature });
  expect(response).toMatchObject({ status: 202, body: { duplicate: false } });
  const workflowId = response.body.workflowId as string;
  expect(workflowId).toBe(meetingWorkflowId(inviteeUri, PERSONAL_TOKEN_CONNECTION_ID));
  const failure: unknown = await system.temporal.workflow.getHandle(workflowId).result().catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'CalendlyUnauthorized', message: expect.stringContaining('Calendly rejected the API token (401)') });
  expect(await logRow(workflowId)).toMatchObject({
    outcome: 'failed',
    detail: expect.stringContaining('Calendly rejected the API token (401): reconnect'),
    inviteeUri,
  });
  expect(await meetingOf(inviteeUri)).toBeNull();
  return { body, signature, workflowId, trackingId: response.body.trackingId as string };
}

it('is fed again by a redelivery once the token is fixed: same workflow ID, same log row, now processed', async () => {
  const { invitee } = await book();
  const first = await deliverWhileTokenRevoked(invitee.uri);
  await recordHistory(system.temporal, 'meeting-first-delivery-failed.json', first.workflowId);

  const again = await system.deliver(first.body, { signature: first.signature });
  expect(again).toMatchObject({ status: 202, body: { duplicate: false, workflowId: first.workflowId } });
  await deliveryOutcome(system, { id: first.trackingId, outcome: 'processed' });
  const rows = await system.orm.em.fork().find(WebhookDeliverySchema, { workflowId: first.workflowId });
  expect(rows).toEqual([expect.objectContaining({ id: first.trackingId, outcome: 'processed', detail: expect.stringMatching(/^redelivered after: delivery failed|^redelivered after: Calendly rejected/) })]);
  expect(await meetingOf(invitee.uri)).toMatchObject({ status: 'active' });
});

it('is fed again by replay-deliveries --failed, and left alone without --failed', async () => {
  const { invitee } = await book();
  const first = await deliverWhileTokenRevoked(invitee.uri);
  const replay = (failed: boolean) =>
    replayUnprocessedDeliveries({
      em: system.orm.em.fork(),
      temporal: system.temporal,
      taskQueue: system.config.temporal.taskQueue,
      apiBaseUrl: system.fake.url,
      ids: [first.trackingId],
      dryRun: false,
      failed,
    });
  expect(await replay(false)).toEqual([]);
  expect(await replay(true)).toEqual([{ id: first.trackingId, result: 'replayed', workflowId: first.workflowId, duplicate: false }]);
  await deliveryOutcome(system, { id: first.trackingId, outcome: 'processed' });
  expect(await logRow(first.workflowId)).toMatchObject({ id: first.trackingId, outcome: 'processed' });
  expect(await meetingOf(invitee.uri)).toMatchObject({ status: 'active' });
});

it('is fed again by the backfill, which does not count it as already known', async () => {
  const { invitee } = await book('2034-05-01T10:00:00.000000Z');
  const first = await deliverWhileTokenRevoked(invitee.uri);
  const summary = await syncBookings({
    calendly: new CalendlyApiClient({ baseUrl: system.fake.url, token: CALENDLY_TOKEN }),
    connectionId: PERSONAL_TOKEN_CONNECTION_ID,
    temporal: system.temporal,
    taskQueue: system.config.temporal.taskQueue,
    window: { from: new Date('2034-01-01T00:00:00Z'), to: new Date('2035-01-01T00:00:00Z') },
  });
  expect(summary).toMatchObject({ invitees: 1, started: 1, alreadyKnown: 0 });
  await deliveryOutcome(system, { id: first.trackingId, outcome: 'processed' });
  expect(await logRow(first.workflowId)).toMatchObject({ id: first.trackingId, outcome: 'processed', detail: expect.stringContaining('backfilled') });
});

it('cancels the meeting and its reminders when a cancel fails because Calendly deleted the event', async () => {
  const { event, invitee } = await book(new Date(Date.now() + 3 * 3600_000).toISOString());
  const created = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  const booked = await system.deliver(created.body, { signature: created.signature });
  await deliveryOutcome(system, booked.body.trackingId);
  await eventually(async () => {
    const meeting = await meetingOf(invitee.uri);
    const reminders = meeting ? await system.orm.em.fork().find(ReminderSchema, { meeting: meeting.id }) : [];
    return reminders.length === 2 && reminders.every((reminder) => reminder.state === 'scheduled') ? reminders : undefined;
  }, 30_000, 'the reminders planned');

  await system.fake.cancelInvitee(invitee.uri, { reason: 'cannot make it' }, { deliver: false });
  const canceled = system.fake.webhookDelivery('invitee.canceled', invitee.uri, SIGNING_KEY);
  system.fake.deleteEvent(event.uri);
  const response = await system.deliver(canceled.body, { signature: canceled.signature });
  expect(response).toMatchObject({ status: 202, body: { workflowId: booked.body.workflowId } });
  await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: 'failed', detail: expect.stringContaining('404'), inviteeUri: invitee.uri });

  // The meeting's workflow keeps the meeting, so it does not fail: it ends with the meeting canceled.
  expect(await meetingOf(invitee.uri)).toMatchObject({ status: 'canceled', canceledAt: expect.any(Date), cancelReason: expect.stringContaining('404') });
  const plan = (await system.temporal.workflow.getHandle(booked.body.workflowId).result()) as MeetingPlan;
  expect(plan.status).toBe('canceled');
  await recordHistory(system.temporal, 'meeting-cancel-delivery-failed.json', booked.body.workflowId);
  const meeting = await meetingOf(invitee.uri);
  const reminders = await system.orm.em.fork().find(ReminderSchema, { meeting: meeting!.id });
  expect(reminders.map((reminder) => reminder.state)).toEqual(['canceled', 'canceled']);
});
