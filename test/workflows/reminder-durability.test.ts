/**
 * Reminders are durable Temporal timers: they survive a worker that is stopped while they wait, and a Temporal dev
 * server (with its state on disk) that is restarted while they wait. Each still fires exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { meetingChanged, plan as planQuery, type MeetingRemindersInput } from '../../src/contract';
import { keepMeetingReminders } from '../../workflows';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { startTemporalDevServer, type DevServer } from '../../scripts/dev/temporal-dev-server';
import { freePort } from '../../scripts/lib/free-ports';
import { eventually, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

const inSeconds = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

async function bookAndPlan(system: TestSystem, startTime: string) {
  const { invitee } = await system.fake.bookMeeting({ email: `durable-${Date.now()}@example.com`, startTime });
  const meeting = await eventually(() => system.orm.em.fork().findOne(MeetingSchema, { inviteeUri: invitee.uri }).then((row) => row ?? undefined));
  await eventually(async () => ((await system.orm.em.fork().count(ReminderSchema, { meeting: meeting.id })) === 2 ? true : undefined));
  // The rows are written just before the meeting's workflow is started, so it may not exist yet for a moment.
  const plan = await eventually(() => system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).query(planQuery), 30_000, "the meeting workflow's plan");
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
    system = await startTestSystem({ env: { REMINDER_OFFSETS: '6s,3s' } });
    await system.subscribeReceiver();
  });
  afterAll(() => system.stop());

  it('fires a reminder once when the worker was stopped while it waited', async () => {
    const { meeting } = await bookAndPlan(system, inSeconds(9));
    await system.stopWorker();
    // The first reminder's time (start - 6 s) passes while no worker runs.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, meeting.startTime.getTime() - 6_000 - Date.now()) + 1_000));
    expect(await system.orm.em.fork().count(ReminderSchema, { meeting: meeting.id, state: 'sent' })).toBe(0);
    await system.startWorker();

    const reminders = await sentOnce(system, meeting.id);
    expect(reminders.map((reminder) => reminder.offsetSeconds)).toEqual([6, 3]);
  });

  it('continues as new when the history grows, keeping its plan', async () => {
    const { invitee, meeting, plan } = await bookAndPlan(system, inSeconds(3600));
    const running = system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    const input: MeetingRemindersInput = {
      meeting: { meetingId: meeting.id, inviteeUri: invitee.uri, inviteeEmail: 'x@example.com', eventUuid: 'e', status: 'active', startTime: plan.startTime },
      offsetsSeconds: [6, 3],
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
    expect((await latest.query(planQuery)).reminders).toEqual(plan.reminders);
    await latest.terminate('test done');
    await running.terminate('test done');
  });
});

describe('with a dev server restarted mid-wait', () => {
  let server: DevServer;
  let system: TestSystem;
  let port: number;
  const stateDir = mkdtempSync(join(tmpdir(), 'temporal-restart-'));
  const start = () =>
    startTemporalDevServer({ ip: '127.0.0.1', port, namespace: 'default', dbFilename: join(stateDir, 'dev.db'), output: 'ignore' });

  beforeAll(async () => {
    port = await freePort();
    server = await start();
    system = await startTestSystem({ temporalAddress: server.address, env: { REMINDER_OFFSETS: '6s,3s' } });
    await system.subscribeReceiver();
  });
  afterAll(async () => {
    await system.stop();
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('fires each reminder once after Temporal comes back', async () => {
    const { meeting } = await bookAndPlan(system, inSeconds(12));
    await server.stop();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    server = await start();

    const reminders = await sentOnce(system, meeting.id);
    expect(reminders.map((reminder) => reminder.offsetSeconds)).toEqual([6, 3]);
  });
});
