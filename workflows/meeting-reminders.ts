import {
  ActivityFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  meetingChanged,
  MEETING_STATUS,
  plan,
  type Activities,
  type MeetingPlan,
  type MeetingRemindersInput,
  type PlannedReminder,
} from '../src/contract';
import {
  historyIsLong,
  meetingAfterChange,
  msUntilDue,
  nextReminderDue,
  planOf,
  plansItsOwnReminders,
  postsToReminderWebhook,
  withPendingCanceled,
  withReminderState,
} from './reminder-plan';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { planReminders, sendReminder, cancelReminders, deliverReminderWebhook } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * One meeting, from booking to its start: a durable timer for each reminder (e.g. 24 h, 1 h and 15 min before),
 * each sent once. A cancel or reschedule ends it and cancels the reminders still pending. It holds one timer at a
 * time, so a meeting booked months ahead keeps a short history; many changes make it continue as new.
 */
export async function keepMeetingReminders(input: MeetingRemindersInput): Promise<MeetingPlan> {
  let meeting = input.meeting;
  let reminders: PlannedReminder[] = input.reminders ?? [];
  const undelivered = new Set(input.undeliveredOutbound ?? []);
  let changed = false;

  setHandler(meetingChanged, (update) => {
    const kept = meetingAfterChange(meeting, update);
    if (kept === meeting) return;
    meeting = kept;
    changed = true;
  });
  setHandler(plan, () => planOf(meeting, reminders));

  const outbound: Promise<void>[] = [...undelivered].map(deliver);
  function deliver(reminderId: string): Promise<void> {
    undelivered.add(reminderId);
    // A reminder the endpoint refused for good (a 4xx) is recorded on its row by the activity; the others go on.
    return deliverReminderWebhook(reminderId).then(
      () => void undelivered.delete(reminderId),
      (error: unknown) => {
        undelivered.delete(reminderId);
        log.warn('Reminder webhook delivery failed for good', { reminderId, reason: error instanceof ActivityFailure ? (error.cause?.message ?? error.message) : String(error) });
      },
    );
  }

  if (plansItsOwnReminders(meeting, input.reminders)) reminders = await planReminders(meeting.meetingId, input.offsetsSeconds);

  for (let next = nextReminderDue(meeting, reminders); next; next = nextReminderDue(meeting, reminders)) {
    changed = false;
    const waitMs = msUntilDue(next, Date.now());
    if (waitMs > 0 && (await condition(() => changed, waitMs))) {
      if (historyIsLong(workflowInfo(), input.maxHistoryEvents)) {
        log.info('Continuing as new to keep the history short', { historyLength: workflowInfo().historyLength });
        await continueAsNew<typeof keepMeetingReminders>({ ...input, meeting, reminders, undeliveredOutbound: [...undelivered] });
      }
      continue;
    }
    const state = await sendReminder(next.reminderId);
    reminders = withReminderState(reminders, next.reminderId, state);
    log.info('Reminder fired', { offsetSeconds: next.offsetSeconds, fireAt: next.fireAt, state });
    if (postsToReminderWebhook(state, input.sendOutbound)) outbound.push(deliver(next.reminderId));
  }

  if (meeting.status !== 'active') {
    const canceled = await cancelReminders(meeting.meetingId);
    reminders = withPendingCanceled(reminders);
    upsertSearchAttributes([{ key: MEETING_STATUS, value: meeting.status }]);
    log.info('Meeting ended before its start; pending reminders canceled', { status: meeting.status, canceled });
  }
  await Promise.all(outbound);
  return planOf(meeting, reminders);
}
