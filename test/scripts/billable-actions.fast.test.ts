/**
 * The billable actions counter (scripts/dev/benchmark/billable-actions.ts) on the recorded histories of today's
 * workflows (test/workflows/histories): each expectation is what a person counts by reading the file's events with
 * the rules of Temporal's "Temporal Cloud Actions" page (https://docs.temporal.io/evaluate/cloud/actions).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACTION_CATEGORIES, billableActions, perUnit, sumActions, type History } from '../../scripts/dev/benchmark/billable-actions';

const HISTORIES = join(__dirname, '..', 'workflows', 'histories');
const counted = (file: string) => billableActions(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as History);
/** Only the categories that are not 0, to compare with what a reader counts. */
const nonZero = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).filter(([, value]) => value !== 0));

it.each([
  // Started by the receiver (1); every step a local activity, their markers (and the patch's) all recorded by the
  // first workflow task (1); the upsert sets only TemporalChangeVersion, which the page exempts.
  ['invitee-created-delivery.json', { start_workflow: 1, record_activity_markers: 1 }],
  // A failed run costs the same: its three steps' markers are in one workflow task too.
  ['invitee-delivery-token-revoked.json', { start_workflow: 1, record_activity_markers: 1 }],
  ['routing-form-submission.json', { start_workflow: 1, record_activity_markers: 1 }],
  // Started by Signal-With-Start (started + signaled, one action for the pair), planReminders and two sendReminder
  // activities (3), a timer before each reminder (2).
  ['meeting-reminders-sent.json', { signal_workflow_with_start: 1, schedule_activity: 3, start_timer: 2 }],
  // Its meeting started before any reminder was due: planned, nothing to wait for.
  ['meeting-reminders-skipped.json', { signal_workflow_with_start: 1, schedule_activity: 1 }],
  // Signal-With-Start, then a second signal (the cancel), cancelReminders, and the MeetingStatus upsert.
  ['meeting-canceled.json', { signal_workflow_with_start: 1, signal_workflow: 1, schedule_activity: 1, upsert_workflow_search_attributes: 1 }],
  // postOutboundDelivery scheduled once and started at attempt 3: two retries.
  ['outbound-delivery-retried.json', { start_workflow: 1, schedule_activity: 1, retry_activity: 2 }],
  // Refused for good at its first attempt, then markOutboundDeliveryDead.
  ['outbound-delivery-dead.json', { start_workflow: 1, schedule_activity: 2 }],
  // Started by its schedule (TemporalScheduledById): the schedule's start (2) and the workflow's (1).
  ['reconcile-bookings-missed-booking.json', { schedule_workflow: 3, schedule_activity: 1 }],
])('%s', (file, types) => {
  const actions = counted(file);
  expect(nonZero(actions.byType)).toEqual(types);
  expect(actions.total).toBe(Object.values(types).reduce((sum, value) => sum + value, 0));
});

it('puts each action type in the category of the page, and the categories add up to the total', () => {
  const meeting = counted('meeting-canceled.json');
  expect(nonZero(meeting.byCategory)).toEqual({ signal: 2, activity: 1, workflow: 1 });
  for (const file of readdirSync(HISTORIES).filter((name) => name.endsWith('.json'))) {
    const actions = counted(file);
    expect(ACTION_CATEGORIES.reduce((sum, category) => sum + actions.byCategory[category], 0)).toBe(actions.total);
    expect(actions.total).toBeGreaterThan(0);
  }
});

it('sums runs and divides them per booking', () => {
  const both = sumActions([counted('invitee-created-delivery.json'), counted('outbound-delivery-retried.json')]);
  expect({ total: both.total, workflow: both.byCategory.workflow, activity: both.byCategory.activity }).toEqual({ total: 6, workflow: 2, activity: 4 });
  expect(perUnit(both, 4)).toMatchObject({ total: 1.5, byCategory: { workflow: 0.5, activity: 1 } });
});

it('counts what only other histories show: child starts, continue-as-new, signals, updates, resets, local retries', () => {
  const event = (eventId: number, eventType: string, attributes: object = {}) => ({ eventId, eventType: `EVENT_TYPE_${eventType}`, ...attributes });
  const actions = billableActions({
    events: [
      // A run continued as new: its started event is a start (the old run's CONTINUED_AS_NEW is not).
      event(1, 'WORKFLOW_EXECUTION_STARTED', { workflowExecutionStartedEventAttributes: {} }),
      event(2, 'WORKFLOW_TASK_SCHEDULED'),
      event(3, 'WORKFLOW_TASK_STARTED'),
      event(4, 'WORKFLOW_TASK_COMPLETED', { workflowTaskCompletedEventAttributes: { meteringMetadata: { nonfirstLocalActivityExecutionAttempts: 2 } } }),
      event(5, 'MARKER_RECORDED', { markerRecordedEventAttributes: { workflowTaskCompletedEventId: '4' } }),
      event(6, 'START_CHILD_WORKFLOW_EXECUTION_INITIATED'),
      event(7, 'WORKFLOW_EXECUTION_SIGNALED'),
      event(8, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED'),
      event(9, 'WORKFLOW_TASK_FAILED', { workflowTaskFailedEventAttributes: { cause: 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW' } }),
      event(10, 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED'),
      event(11, 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW'),
    ],
  });
  expect(nonZero(actions.byType)).toEqual({
    start_workflow: 1,
    retry_activity_local: 2,
    record_activity_markers: 1,
    start_child_workflow: 2,
    signal_workflow: 1,
    accept_workflow_update: 1,
    reset_workflow: 1,
  });
  // The child's own started event: its start was counted in the parent.
  expect(billableActions({ events: [event(1, 'WORKFLOW_EXECUTION_STARTED', { workflowExecutionStartedEventAttributes: { parentWorkflowExecution: { workflowId: 'parent' } } })] }).total).toBe(0);
});
