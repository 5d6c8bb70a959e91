/**
 * The benchmark's Temporal-only baseline, run as its own process like the worker: the worker's own workflows (the
 * production bundle) on a task queue of their own, configured from the worker's environment (Temporal address and
 * namespace, cache size, reminder offsets), with activities that do nothing but their Temporal calls. Reading
 * Calendly and writing PostgreSQL are skipped (a copy of `template` stands for what Calendly returns). It serves both
 * shapes: today's (a delivery handed to its meeting's workflow, processed by processDelivery) and the one before
 * December 2026 (processInviteeDelivery, whose last step starts the meeting's workflow). What the burst reaches next
 * to this is what Temporal leaves to everything else on the same two cores.
 * Usage: temporal-only-worker.ts <task queue> <workflow bundle> <booking template (JSON file)>;
 * prints "running" once it polls, then "meetings kept: <n>" as each booking's meeting is handed to its reminders
 * (counted here rather than in Temporal's visibility: a count query would be work for the server it measures).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { tellMeetingWorkflow } from '../../../activities/reminders';
import { configFromEnvironment } from '../../../src/config';
import type { Activities, Booking, PlannedReminder } from '../../../src/contract';
import { meetingWorkflowId } from '../../../src/workflow-ids';

const [taskQueue, workflowBundlePath, templatePath] = process.argv.slice(2);
const template = JSON.parse(readFileSync(templatePath, 'utf8')) as Booking;
const config = configFromEnvironment();
const { offsetsSeconds } = config.reminders;
const MEETING_IN_MS = 30 * 86_400_000;
let meetingsKept = 0;

/** A meeting a month ahead, with its reminders planned as the database would plan them. */
function plannedMeeting(inviteeUri: string) {
  const startTime = new Date(Date.now() + MEETING_IN_MS).toISOString();
  const eventUuid = inviteeUri.split('/').at(-3) ?? 'event';
  const meeting = { meetingId: randomUUID(), inviteeUri, inviteeEmail: template.invitee.email, eventUuid, status: 'active' as const, startTime };
  const reminders: PlannedReminder[] = offsetsSeconds.map((offsetSeconds) => ({
    reminderId: randomUUID(),
    offsetSeconds,
    fireAt: new Date(Date.parse(startTime) - offsetSeconds * 1000).toISOString(),
    state: 'scheduled',
  }));
  return { meeting, reminders };
}

const counted = () => process.stdout.write(`meetings kept: ${++meetingsKept}\n`);

async function main(): Promise<void> {
  const { address, namespace } = config.temporal;
  const temporal = new Client({ connection: await Connection.connect({ address }), namespace });
  const activities: Partial<Activities> = {
    async recordAcceptedDelivery() {},
    async recordDeliveryOutcome() {},
    fetchBookings({ inviteeUri, scheduledEventUri, connectionId }) {
      const invitee = { ...template.invitee, uri: inviteeUri, event: scheduledEventUri };
      return Promise.resolve({ bookings: [{ invitee, event: { ...template.event, uri: scheduledEventUri } }], organization: 'benchmark', connectionId });
    },
    saveBookings({ bookings }) {
      return Promise.resolve(bookings.map(({ invitee }) => ({ leadId: randomUUID(), meetingId: randomUUID(), inviteeUri: invitee.uri })));
    },
    async syncMeetingReminders(inviteeUri, connectionId) {
      const { meeting, reminders } = plannedMeeting(inviteeUri);
      await tellMeetingWorkflow(temporal, taskQueue, { meeting, offsetsSeconds, reminders, sendOutbound: false }, meetingWorkflowId(inviteeUri, connectionId), connectionId);
      counted();
    },
    processDelivery({ inviteeUri }) {
      const { meeting, reminders } = plannedMeeting(inviteeUri);
      counted();
      return Promise.resolve({ outcome: 'processed', leadId: randomUUID(), meetingId: meeting.meetingId, meeting: { meeting, reminders, sendOutbound: false } });
    },
  };
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address }),
    namespace,
    taskQueue,
    workflowBundle: { codePath: workflowBundlePath },
    maxCachedWorkflows: config.maxCachedWorkflows,
    activities,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('running\n');
  await running;
  await temporal.connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
