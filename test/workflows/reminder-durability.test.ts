/**
 * Reminders are durable Temporal timers: a reminder whose timer fires while no worker runs is sent once a worker is
 * back, exactly once. A meeting's workflow continues as new when its history grows, keeping its plan.
 */
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { meetingChanged, plan as planQuery, type MeetingRemindersInput } from '../../src/contract';
import { keepMeetingReminders } from '../../workflows';
import { meetingWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { eventually, startTestSystem, type TestSystem } from '../support/system';

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

async function bookAndPlan(system: TestSystem, startTime: string) {
  const { invitee } = await system.fake.bookMeeting({ email: `durable-${Date.now()}@example.com`, startTime });
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }).then((row) => row ?? undefined));
  await eventually(async () => ((await system.orm.em.fork().count(ReminderSchema, { meeting: meeting.id })) === 2 ? true : undefined));
  // The rows are written by the delivery's processing, just before the meeting's workflow holds them.
  const plan = await eventually(
    async () => (await system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).query(planQuery)) ?? undefined,
    30_000,
    "the meeting workflow's plan",
  );
  return { invitee, meeting, plan };
}

async function sentOnce(system: TestSystem, meetingId: string) {
  const reminders = await eventually(async () => {
    const rows = await system.orm.em.fork().find(ReminderSchema, { meeting: meetingId }, { orderBy: { fireAt: 'asc' } });
    return rows.every((row) => row.state === 'sent') ? rows : undefined;
  }, 60_000, 'both reminders sent');
  const events = (await system.orm.em.fork().find(OutboxEventSchema, { type: 'reminder.sent' })).filter(
    (event) => (event.payload as { meeting: { id: string } }).meeting.id === meetingId,
  );
  expect(events).toHaveLength(reminders.length);
  return reminders;
}

describe('with the shared dev server', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ env: { REMINDER_OFFSETS: '25s,24s' } });
    await system.subscribeReceiver();
  });
  afterAll(() => system.stop());

  // Room on a loaded machine for booking and stopping the worker before the first reminder's time (15 s), and for
  // starting it again before the meeting's (24 s later; a reminder due after the start is skipped, not sent). The
  // timeout bounds the waits below, each of which ends on its condition.
  it('fires a reminder once when its timer fired while the worker was stopped', async () => {
    const { invitee, meeting } = await bookAndPlan(system, inSeconds(40));
    await system.stopWorker();
    const workflow = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    await eventually(async () => {
      const { events } = await workflow.fetchHistory();
      return events!.some((event) => event.timerFiredEventAttributes) ? true : undefined;
    }, 30_000, "the first reminder's timer fired on the server");
    expect(await system.orm.em.fork().count(ReminderSchema, { meeting: meeting.id, state: 'sent' })).toBe(0);
    await system.startWorker();

    const reminders = await sentOnce(system, meeting.id);
    expect(reminders.map((reminder) => reminder.offsetSeconds)).toEqual([25, 24]);
  }, 150_000);

  it('holds one timer for a meeting far ahead, and continues as new when the history grows, keeping its plan', async () => {
    const { invitee, meeting, plan } = await bookAndPlan(system, inSeconds(90 * 24 * 3600));
    const running = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    // Months ahead, the workflow waits on one timer: its history stays short.
    expect((await running.fetchHistory()).events!.length).toBeLessThan(40);
    const input: MeetingRemindersInput = {
      meeting: { meetingId: meeting.id, inviteeUri: invitee.uri, inviteeEmail: 'x@example.com', eventUuid: 'e', status: 'active', startTime: plan.startTime },
      offsetsSeconds: [25, 24],
      sendOutbound: false,
      maxHistoryEvents: 20,
    };
    const workflowId = `${meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)}-continue-as-new`;
    const handle = await system.temporal.workflow.start(keepMeetingReminders, { workflowId, taskQueue: system.config.temporal.taskQueue, args: [input] });
    const firstRunId = handle.firstExecutionRunId;
    const latest = system.temporal.workflow.getHandle(workflowId);
    // Signals sent in a burst may share one workflow task; keep changing the meeting until the run continues.
    let description = await latest.describe();
    for (let change = 0; change < 60 && description.runId === firstRunId; change++) {
      await handle.signal(meetingChanged, input.meeting);
      await new Promise((resolve) => setTimeout(resolve, 100));
      description = await latest.describe();
    }
    expect(description.runId).not.toBe(firstRunId);
    expect(description.status.name).toBe('RUNNING');
    expect((await latest.query(planQuery))?.reminders).toEqual(plan.reminders);
    await latest.terminate('test done');
    await running.terminate('test done');
  });
});
