/**
 * What a meeting's workflow decides about its reminders (workflows/reminder-plan.ts), without a Temporal server or
 * a database: examples of a meeting's life with reminders 24 h, 1 h and 15 min before, then properties over any plan.
 */
import fc from 'fast-check';
import type { MeetingSnapshot, MeetingStatus, PlannedReminder, ReminderState } from '../../../src/contract';
import {
  DEFAULT_MAX_HISTORY_EVENTS,
  historyIsLong,
  meetingAfterChange,
  msUntilDue,
  nextReminderDue,
  planOf,
  plansItsOwnReminders,
  postsToReminderWebhook,
  recentlyTaken,
  withPendingCanceled,
  withReminderState,
} from '../../../workflows/reminder-plan';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const START = '2031-06-02T09:00:00.000Z';
const startMs = Date.parse(START);

const meeting = (status: MeetingStatus = 'active', startTime = START): MeetingSnapshot => ({
  meetingId: 'meeting-1',
  inviteeUri: 'https://api.calendly.com/scheduled_events/E/invitees/I',
  inviteeEmail: 'lead@example.com',
  eventUuid: 'E',
  status,
  startTime,
});

/** The plan the database makes for 24 h, 1 h and 15 min before START, in fire order. */
function plannedAt(nowMs: number): PlannedReminder[] {
  return [24 * 3600, 3600, 15 * 60].map((offsetSeconds) => {
    const fireAt = startMs - offsetSeconds * 1000;
    return { reminderId: `reminder-${offsetSeconds}`, offsetSeconds, fireAt: new Date(fireAt).toISOString(), state: fireAt > nowMs ? 'scheduled' : 'skipped' };
  });
}

const statesOf = (reminders: PlannedReminder[]) => reminders.map((reminder) => reminder.state);

describe('a meeting booked two days ahead', () => {
  const bookedAt = startMs - 48 * HOUR;
  const plan = plannedAt(bookedAt);

  it('waits first for the reminder 24 h before, the time until it', () => {
    const next = nextReminderDue(meeting(), plan);
    expect(next).toMatchObject({ offsetSeconds: 24 * 3600, fireAt: '2031-06-01T09:00:00.000Z' });
    expect(msUntilDue(next!, bookedAt)).toBe(24 * HOUR);
    expect(planOf(meeting(), plan)).toEqual({ status: 'active', startTime: START, nextReminder: next, reminders: plan });
  });

  it('goes on to the next reminder once one is sent, and ends when all are sent', () => {
    let reminders = plan;
    const sentInOrder: number[] = [];
    for (let next = nextReminderDue(meeting(), reminders); next; next = nextReminderDue(meeting(), reminders)) {
      sentInOrder.push(next.offsetSeconds);
      reminders = withReminderState(reminders, next.reminderId, 'sent');
    }
    expect(sentInOrder).toEqual([24 * 3600, 3600, 15 * 60]);
    expect(planOf(meeting(), reminders).nextReminder).toBeNull();
  });

  it('sends a reminder whose time passed while no worker ran as soon as one runs (the database skips it if the meeting has begun)', () => {
    const next = nextReminderDue(meeting(), plan)!;
    expect(msUntilDue(next, Date.parse(next.fireAt) + 5 * MINUTE)).toBeLessThanOrEqual(0);
    expect(msUntilDue(next, Date.parse(next.fireAt))).toBe(0);
  });

  it('cancels the reminders still pending when the meeting is rescheduled or canceled, and keeps those already sent', () => {
    for (const status of ['rescheduled', 'canceled'] as const) {
      const daySent = withReminderState(plan, 'reminder-86400', 'sent');
      const ended = meetingAfterChange(meeting(), meeting(status));
      expect(ended.status).toBe(status);
      expect(nextReminderDue(ended, daySent)).toBeUndefined();
      expect(statesOf(withPendingCanceled(daySent))).toEqual(['sent', 'canceled', 'canceled']);
    }
  });

  it('stays canceled when an older snapshot of the active meeting arrives late', () => {
    const canceled = meetingAfterChange(meeting(), meeting('canceled'));
    const afterLate = meetingAfterChange(canceled, meeting('active'));
    expect(afterLate).toBe(canceled);
    expect(nextReminderDue(afterLate, plan)).toBeUndefined();
  });

  it('takes the newest snapshot of a meeting that is still active', () => {
    const moved = meeting('active', '2031-06-02T10:00:00.000Z');
    expect(meetingAfterChange(meeting(), moved)).toBe(moved);
  });

  it('does not post a reminder to the reminder webhook unless it was sent and a webhook is configured', () => {
    expect(postsToReminderWebhook('sent', true)).toBe(true);
    expect(postsToReminderWebhook('sent', false)).toBe(false);
    expect(postsToReminderWebhook('skipped', true)).toBe(false);
    expect(postsToReminderWebhook('canceled', true)).toBe(false);
  });
});

describe('a meeting booked 30 minutes ahead', () => {
  it('skips the reminders whose time has passed at booking and waits only for the 15-min one', () => {
    const plan = plannedAt(startMs - 30 * MINUTE);
    expect(statesOf(plan)).toEqual(['skipped', 'skipped', 'scheduled']);
    expect(nextReminderDue(meeting(), plan)).toMatchObject({ offsetSeconds: 15 * 60 });
  });
});

describe('a meeting already in the past when booked (e.g. found by the backfill)', () => {
  it('has nothing to wait for: the workflow ends at once', () => {
    const plan = plannedAt(startMs + HOUR);
    expect(statesOf(plan)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(nextReminderDue(meeting(), plan)).toBeUndefined();
    expect(planOf(meeting(), plan).nextReminder).toBeNull();
  });
});

describe('a workflow started for a meeting', () => {
  it('plans its own reminders only when active and not given a plan', () => {
    expect(plansItsOwnReminders(meeting(), undefined)).toBe(true);
    expect(plansItsOwnReminders(meeting(), plannedAt(startMs - 48 * HOUR))).toBe(false);
    expect(plansItsOwnReminders(meeting(), [])).toBe(false);
  });

  it('started by a reschedule or cancel delivered before the booking plans nothing and waits for nothing', () => {
    for (const status of ['rescheduled', 'canceled'] as const) {
      expect(plansItsOwnReminders(meeting(status), undefined)).toBe(false);
      expect(nextReminderDue(meeting(status), [])).toBeUndefined();
    }
  });

  it('continues as new when the server suggests it or the history passed its limit', () => {
    expect(historyIsLong({ continueAsNewSuggested: false, historyLength: DEFAULT_MAX_HISTORY_EVENTS })).toBe(false);
    expect(historyIsLong({ continueAsNewSuggested: false, historyLength: DEFAULT_MAX_HISTORY_EVENTS + 1 })).toBe(true);
    expect(historyIsLong({ continueAsNewSuggested: true, historyLength: 10 })).toBe(true);
    expect(historyIsLong({ continueAsNewSuggested: false, historyLength: 21 }, 20)).toBe(true);
    expect(historyIsLong({ continueAsNewSuggested: false, historyLength: 20 }, 20)).toBe(false);
  });
});

describe('a workflow started by a delivery (no meeting yet)', () => {
  it('waits for no reminder until the delivery brought the meeting', () => {
    expect(nextReminderDue(undefined, plannedAt(startMs - 2 * 24 * HOUR))).toBeUndefined();
  });

  it('carries the deliveries it took over continue-as-new, the latest ones when there are many', () => {
    const taken = new Map(Array.from({ length: 250 }, (_, index) => [`invitee_no_show.created:E:I:${index}`, `delivery-${index}`]));
    const carried = recentlyTaken(taken);
    expect(Object.keys(carried)).toHaveLength(200);
    expect(carried['invitee_no_show.created:E:I:249']).toBe('delivery-249');
    expect(carried['invitee_no_show.created:E:I:49']).toBeUndefined();
    expect(recentlyTaken(new Map([['invitee.created:E:I', 'first']]))).toEqual({ 'invitee.created:E:I': 'first' });
  });
});

describe('over any plan', () => {
  const STATES: ReminderState[] = ['scheduled', 'sent', 'canceled', 'skipped'];
  const STATUSES: MeetingStatus[] = ['active', 'canceled', 'rescheduled'];
  const anyPlan = fc
    .array(fc.record({ offsetMinutes: fc.integer({ min: 1, max: 60 * 24 * 7 }), state: fc.constantFrom(...STATES) }), { maxLength: 6 })
    .map((rows) =>
      rows
        .map(({ offsetMinutes, state }, index) => ({
          reminderId: `reminder-${index}`,
          offsetSeconds: offsetMinutes * 60,
          fireAt: new Date(startMs - offsetMinutes * MINUTE).toISOString(),
          state,
        }))
        .sort((a, b) => Date.parse(a.fireAt) - Date.parse(b.fireAt)),
    );
  const anySnapshot = fc.record({ status: fc.constantFrom(...STATUSES), hoursLater: fc.integer({ min: -48, max: 48 }) }).map(({ status, hoursLater }) =>
    meeting(status, new Date(startMs + hoursLater * HOUR).toISOString()),
  );

  it('the next reminder is the first scheduled one of an active meeting, and none otherwise', () => {
    fc.assert(
      fc.property(anyPlan, fc.constantFrom(...STATUSES), (plan, status) => {
        const next = nextReminderDue(meeting(status), plan);
        const firstScheduled = plan.find((reminder) => reminder.state === 'scheduled');
        expect(next).toBe(status === 'active' ? firstScheduled : undefined);
        expect(planOf(meeting(status), plan).nextReminder).toEqual(firstScheduled ?? null);
      }),
    );
  });

  it('a reminder is waited for and fired at most once: firing it, whatever the outcome, moves on', () => {
    fc.assert(
      fc.property(anyPlan, fc.array(fc.constantFrom<ReminderState>('sent', 'skipped', 'canceled')), (plan, outcomes) => {
        let reminders = plan;
        const fired: string[] = [];
        for (let next = nextReminderDue(meeting(), reminders); next; next = nextReminderDue(meeting(), reminders)) {
          fired.push(next.reminderId);
          reminders = withReminderState(reminders, next.reminderId, outcomes[fired.length % Math.max(1, outcomes.length)] ?? 'sent');
        }
        expect(fired).toEqual(plan.filter((reminder) => reminder.state === 'scheduled').map((reminder) => reminder.reminderId));
        expect(new Set(fired).size).toBe(fired.length);
      }),
    );
  });

  it('firing one reminder changes that reminder only', () => {
    fc.assert(
      fc.property(anyPlan, fc.nat(), fc.constantFrom(...STATES), (plan, pick, state) => {
        fc.pre(plan.length > 0);
        const chosen = plan[pick % plan.length];
        const after = withReminderState(plan, chosen.reminderId, state);
        expect(after).toEqual(plan.map((reminder) => (reminder === chosen ? { ...reminder, state } : reminder)));
      }),
    );
  });

  it('ending the meeting cancels exactly the scheduled reminders, and a second time changes nothing', () => {
    fc.assert(
      fc.property(anyPlan, (plan) => {
        const ended = withPendingCanceled(plan);
        expect(ended.map((reminder) => reminder.reminderId)).toEqual(plan.map((reminder) => reminder.reminderId));
        ended.forEach((reminder, index) => expect(reminder.state).toBe(plan[index].state === 'scheduled' ? 'canceled' : plan[index].state));
        expect(withPendingCanceled(ended)).toEqual(ended);
      }),
    );
  });

  it('once canceled or rescheduled, no later snapshot, in any order, makes the meeting active again', () => {
    fc.assert(
      fc.property(fc.array(anySnapshot, { minLength: 1, maxLength: 8 }), (updates) => {
        let kept = meeting();
        const firstEnd = updates.find((update) => update.status !== 'active');
        for (const update of updates) kept = meetingAfterChange(kept, update);
        expect(kept).toBe(firstEnd ?? updates.at(-1));
      }),
    );
  });

  it('the wait is the time until the reminder, never more', () => {
    fc.assert(
      fc.property(anyPlan, fc.integer({ min: -7 * 24 * 60, max: 7 * 24 * 60 }), (plan, minutesFromStart) => {
        const now = startMs + minutesFromStart * MINUTE;
        for (const reminder of plan) {
          const wait = msUntilDue(reminder, now);
          expect(now + wait).toBe(Date.parse(reminder.fireAt));
          expect(wait <= 0).toBe(Date.parse(reminder.fireAt) <= now);
        }
      }),
    );
  });
});
