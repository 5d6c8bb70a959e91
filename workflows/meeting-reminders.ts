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
  type MeetingSnapshot,
  type PlannedReminder,
} from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { planReminders, sendReminder, cancelReminders, deliverReminderWebhook } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

const DEFAULT_MAX_HISTORY_EVENTS = 2_000;

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
    // Cancel and reschedule are final: a late, older snapshot of the active meeting must not revive it.
    if (meeting.status !== 'active') return;
    meeting = update;
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

  if (meeting.status === 'active' && !input.reminders) reminders = await planReminders(meeting.meetingId, input.offsetsSeconds);

  while (meeting.status === 'active') {
    const next = reminders.find((reminder) => reminder.state === 'scheduled');
    if (!next) break;
    changed = false;
    const waitMs = Date.parse(next.fireAt) - Date.now();
    if (waitMs > 0 && (await condition(() => changed, waitMs))) {
      if (historyIsLong(input.maxHistoryEvents)) {
        log.info('Continuing as new to keep the history short', { historyLength: workflowInfo().historyLength });
        await continueAsNew<typeof keepMeetingReminders>({ ...input, meeting, reminders, undeliveredOutbound: [...undelivered] });
      }
      continue;
    }
    next.state = await sendReminder(next.reminderId);
    log.info('Reminder fired', { offsetSeconds: next.offsetSeconds, fireAt: next.fireAt, state: next.state });
    if (next.state === 'sent' && input.sendOutbound) outbound.push(deliver(next.reminderId));
  }

  if (meeting.status !== 'active') {
    const canceled = await cancelReminders(meeting.meetingId);
    reminders = reminders.map((reminder) => (reminder.state === 'scheduled' ? { ...reminder, state: 'canceled' } : reminder));
    upsertSearchAttributes([{ key: MEETING_STATUS, value: meeting.status }]);
    log.info('Meeting ended before its start; pending reminders canceled', { status: meeting.status, canceled });
  }
  await Promise.all(outbound);
  return planOf(meeting, reminders);
}

function planOf(meeting: MeetingSnapshot, reminders: PlannedReminder[]): MeetingPlan {
  return {
    status: meeting.status,
    startTime: meeting.startTime,
    nextReminder: reminders.find((reminder) => reminder.state === 'scheduled') ?? null,
    reminders,
  };
}

function historyIsLong(maxHistoryEvents = DEFAULT_MAX_HISTORY_EVENTS): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > maxHistoryEvents;
}
