/**
 * What a meeting's workflow decides about its reminders, as pure functions: no Temporal API, no clock of their own
 * (the workflow passes its deterministic time), so they are tested without a Temporal server
 * (test/workflows/decisions/). The reminders themselves are planned and fired in the database: a reminder's time is
 * the meeting's start minus its offset, `skipped` if that time has passed at planning; on firing it becomes `sent`,
 * or `canceled` if the meeting is no longer active, or `skipped` if the meeting has begun (src/database/reminders.ts).
 */
import type { MeetingPlan, MeetingSnapshot, PlannedReminder, ReminderState } from '../src/contract';

/**
 * The meeting as the workflow keeps it after a `meetingChanged` signal. Cancel and reschedule are final: a late,
 * older snapshot of the active meeting (deliveries can arrive in any order) must not revive it.
 */
export function meetingAfterChange(current: MeetingSnapshot, update: MeetingSnapshot): MeetingSnapshot {
  return current.status === 'active' ? update : current;
}

/** A workflow started without a plan (continue-as-new and the sync activity carry one) plans an active meeting's. */
export function plansItsOwnReminders(meeting: MeetingSnapshot, carried: PlannedReminder[] | undefined): boolean {
  return meeting.status === 'active' && !carried;
}

/**
 * The reminder to wait for next: the first still scheduled, in the plan's order (by time, as planned). None once the
 * meeting is canceled or rescheduled, or when every reminder is sent, skipped or canceled, or while no delivery brought
 * the meeting: the workflow then ends.
 */
export function nextReminderDue(meeting: MeetingSnapshot | undefined, reminders: readonly PlannedReminder[]): PlannedReminder | undefined {
  if (meeting?.status !== 'active') return undefined;
  return reminders.find((reminder) => reminder.state === 'scheduled');
}

/**
 * Milliseconds until the reminder's time; zero or less means it is due now. A reminder whose time passed while no
 * worker ran is sent as soon as one runs: the database then sends it, or skips it if the meeting has begun.
 */
export function msUntilDue(reminder: PlannedReminder, nowMs: number): number {
  return Date.parse(reminder.fireAt) - nowMs;
}

/** The plan after the reminder was fired, with the state the database gave it. */
export function withReminderState(reminders: readonly PlannedReminder[], reminderId: string, state: ReminderState): PlannedReminder[] {
  return reminders.map((reminder) => (reminder.reminderId === reminderId ? { ...reminder, state } : reminder));
}

/** A sent reminder is also POSTed to the reminder webhook when one is configured; skipped and canceled ones never. */
export function postsToReminderWebhook(state: ReminderState, sendOutbound: boolean): boolean {
  return state === 'sent' && sendOutbound;
}

/** The plan once the meeting ended before its start: whatever was still scheduled is canceled, the rest stays. */
export function withPendingCanceled(reminders: readonly PlannedReminder[]): PlannedReminder[] {
  return reminders.map((reminder) => (reminder.state === 'scheduled' ? { ...reminder, state: 'canceled' } : reminder));
}

/** What the `plan` query and the workflow's result show. */
export function planOf(meeting: MeetingSnapshot, reminders: PlannedReminder[]): MeetingPlan {
  return {
    status: meeting.status,
    startTime: meeting.startTime,
    nextReminder: reminders.find((reminder) => reminder.state === 'scheduled') ?? null,
    reminders,
  };
}

export const DEFAULT_MAX_HISTORY_EVENTS = 2_000;

/** After a change, the workflow continues as new when the server suggests it or its history passed the limit. */
export function historyIsLong(
  history: { continueAsNewSuggested: boolean; historyLength: number },
  maxHistoryEvents = DEFAULT_MAX_HISTORY_EVENTS,
): boolean {
  return history.continueAsNewSuggested || history.historyLength > maxHistoryEvents;
}

/**
 * The deliveries a run carries over to the next (continue-as-new): the latest ones, so that a hostile stream of distinct
 * no-show marks for one invitee cannot grow the input without bound. Older keys are still duplicates in the delivery
 * log, and processing one again only stores the same booking again.
 */
export const MAX_TAKEN_CARRIED = 200;

export function recentlyTaken(taken: ReadonlyMap<string, string>, max = MAX_TAKEN_CARRIED): Record<string, string> {
  return Object.fromEntries([...taken].slice(-max));
}
