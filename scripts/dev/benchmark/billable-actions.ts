/**
 * Temporal Cloud billable Actions of one workflow run, counted from its event history (proto-JSON, as
 * `temporal workflow show --output json` and `historyToJSON` write it), by the rules of Temporal's "Temporal Cloud
 * Actions" page: https://docs.temporal.io/evaluate/cloud/actions (raw Markdown: …/actions.md).
 * Categories and action types are the page's (types by their metric names). The page calls what a history shows an
 * estimate; so is this.
 *
 * Workflow
 * - start_workflow: WORKFLOW_EXECUTION_STARTED, 1, whether started by a client or by continue-as-new (the new run's
 *   started event carries it; the old run's CONTINUED_AS_NEW counts 0, as the page's note says the UI shows it).
 *   Not when a schedule, a Signal-With-Start or a parent started it: those are counted below.
 * - start_child_workflow: START_CHILD_WORKFLOW_EXECUTION_INITIATED, 2 ("one for durably storing the intent … and
 *   one for the attempt to start it"); the child's own started event then counts 0.
 * - upsert_workflow_search_attributes: UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 1 per command, 0 when it sets only
 *   `TemporalChangeVersion` (patches), which the page exempts; attributes given at start are free.
 * - update_workflow_options: WORKFLOW_EXECUTION_OPTIONS_UPDATED, 1.
 * - reset_workflow: WORKFLOW_TASK_FAILED with cause RESET_WORKFLOW, 1.
 * Activity
 * - schedule_activity: ACTIVITY_TASK_SCHEDULED, 1.
 * - retry_activity: ACTIVITY_TASK_STARTED's `attempt` − 1 (retries write no event of their own; a run terminated
 *   while an activity retries lacks this event, so its retries are not seen).
 * - record_activity_markers: 1 per workflow task whose commands recorded markers (local activities, patches): "all
 *   RecordMarkers from each Workflow Task as one action", grouped by the markers' workflowTaskCompletedEventId.
 * - retry_activity_local: WORKFLOW_TASK_COMPLETED's meteringMetadata.nonfirstLocalActivityExecutionAttempts (capped
 *   at 100 per task, as the page caps them).
 * Timer
 * - start_timer: TIMER_STARTED, 1 (also the implicit timer of `condition(fn, timeout)`).
 * Signal
 * - signal_workflow: WORKFLOW_EXECUTION_SIGNALED, 1 (a signal from another workflow is counted in the signaled
 *   history only, as the page's note says; the signaler's SIGNAL_EXTERNAL_…_INITIATED counts 0).
 * - signal_workflow_with_start: a started event followed at once by a signaled event (event 2) is a Signal-With-Start
 *   that started the run: 1 for the pair ("one total action … regardless of whether the Workflow starts").
 * Update
 * - accept_workflow_update: WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 1.
 * Schedule
 * - schedule_workflow: a run whose started event carries `TemporalScheduledById` is a schedule's execution: 3
 *   ("Schedule Start … two actions" and "Workflow started … a single action"), instead of start_workflow.
 * Nexus
 * - schedule_nexus_operation: NEXUS_OPERATION_SCHEDULED, 1; request_nexus_operation_cancellation:
 *   NEXUS_OPERATION_CANCEL_REQUESTED, 1.
 *
 * Not in a history, so not counted here (the page lists them as "N/A" for the history): queries
 * (query_workflow), activity heartbeats, workflow task heartbeats of long local activities
 * (record_workflow_heartbeat), rejected updates, creating/updating/deleting schedules, standalone activities,
 * history export, Fairness and Capacity. None of them happens per booking today: nothing queries or heartbeats
 * (a delivery's local activities finish within one workflow task, which the grouped markers show).
 */

/** The part of a proto-JSON history event this reads. */
export interface HistoryEvent {
  eventId: string | number;
  eventType: string;
  workflowExecutionStartedEventAttributes?: {
    parentWorkflowExecution?: unknown;
    searchAttributes?: { indexedFields?: Record<string, unknown> };
  };
  workflowTaskCompletedEventAttributes?: { meteringMetadata?: { nonfirstLocalActivityExecutionAttempts?: number | string } };
  workflowTaskFailedEventAttributes?: { cause?: string };
  activityTaskStartedEventAttributes?: { attempt?: number | string };
  markerRecordedEventAttributes?: { workflowTaskCompletedEventId?: string | number };
  upsertWorkflowSearchAttributesEventAttributes?: { searchAttributes?: { indexedFields?: Record<string, unknown> } };
}

export interface History {
  events?: HistoryEvent[];
}

export const ACTION_TYPES = {
  workflow: ['start_workflow', 'start_child_workflow', 'upsert_workflow_search_attributes', 'update_workflow_options', 'reset_workflow'],
  activity: ['schedule_activity', 'retry_activity', 'record_activity_markers', 'retry_activity_local'],
  timer: ['start_timer'],
  signal: ['signal_workflow', 'signal_workflow_with_start'],
  update: ['accept_workflow_update'],
  schedule: ['schedule_workflow'],
  nexus: ['schedule_nexus_operation', 'request_nexus_operation_cancellation'],
} as const;

export type ActionCategory = keyof typeof ACTION_TYPES;
export type ActionType = (typeof ACTION_TYPES)[ActionCategory][number];
export const ACTION_CATEGORIES = Object.keys(ACTION_TYPES) as ActionCategory[];

export interface BillableActions {
  total: number;
  byCategory: Record<ActionCategory, number>;
  byType: Record<ActionType, number>;
}

const PREFIX = 'EVENT_TYPE_';
const LOCAL_RETRIES_CAP = 100;

/** No actions: the sum's starting point. */
export function noActions(): BillableActions {
  const byType = Object.fromEntries(Object.values(ACTION_TYPES).flatMap((types) => types.map((type) => [type, 0]))) as Record<ActionType, number>;
  return { total: 0, byCategory: Object.fromEntries(ACTION_CATEGORIES.map((category) => [category, 0])) as Record<ActionCategory, number>, byType };
}

/** The billable actions of one run's history, by the rules above. */
export function billableActions(history: History): BillableActions {
  const counted: Partial<Record<ActionType, number>> = {};
  const add = (type: ActionType, count = 1) => void (counted[type] = (counted[type] ?? 0) + count);
  const events = history.events ?? [];
  const tasksWithMarkers = new Set<string>();
  events.forEach((event, index) => {
    switch (event.eventType.replace(PREFIX, '')) {
      case 'WORKFLOW_EXECUTION_STARTED': {
        const attributes = event.workflowExecutionStartedEventAttributes;
        if (attributes?.searchAttributes?.indexedFields?.TemporalScheduledById !== undefined) add('schedule_workflow', 3);
        else if (events[index + 1]?.eventType.replace(PREFIX, '') === 'WORKFLOW_EXECUTION_SIGNALED') add('signal_workflow_with_start');
        else if (!attributes?.parentWorkflowExecution) add('start_workflow');
        return;
      }
      case 'WORKFLOW_EXECUTION_SIGNALED':
        // The signal of a Signal-With-Start that started this run is in the pair counted above.
        if (index === 1 && events[0].eventType.replace(PREFIX, '') === 'WORKFLOW_EXECUTION_STARTED') return;
        return add('signal_workflow');
      case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        return add('start_child_workflow', 2);
      case 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
        const fields = Object.keys(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (fields.some((field) => field !== 'TemporalChangeVersion')) add('upsert_workflow_search_attributes');
        return;
      }
      case 'WORKFLOW_EXECUTION_OPTIONS_UPDATED':
        return add('update_workflow_options');
      case 'WORKFLOW_TASK_FAILED':
        if (event.workflowTaskFailedEventAttributes?.cause === 'WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW') add('reset_workflow');
        return;
      case 'WORKFLOW_TASK_COMPLETED': {
        const retries = Number(event.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts ?? 0);
        if (retries > 0) add('retry_activity_local', Math.min(retries, LOCAL_RETRIES_CAP));
        return;
      }
      case 'ACTIVITY_TASK_SCHEDULED':
        return add('schedule_activity');
      case 'ACTIVITY_TASK_STARTED': {
        const retries = Number(event.activityTaskStartedEventAttributes?.attempt ?? 1) - 1;
        if (retries > 0) add('retry_activity', retries);
        return;
      }
      case 'MARKER_RECORDED':
        tasksWithMarkers.add(String(event.markerRecordedEventAttributes?.workflowTaskCompletedEventId ?? event.eventId));
        return;
      case 'TIMER_STARTED':
        return add('start_timer');
      case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED':
        return add('accept_workflow_update');
      case 'NEXUS_OPERATION_SCHEDULED':
        return add('schedule_nexus_operation');
      case 'NEXUS_OPERATION_CANCEL_REQUESTED':
        return add('request_nexus_operation_cancellation');
      default:
    }
  });
  if (tasksWithMarkers.size) add('record_activity_markers', tasksWithMarkers.size);
  const none = noActions();
  return withTotals({ ...none, byType: { ...none.byType, ...counted } });
}

/** The sum of several runs' (or bookings') actions. */
export function sumActions(all: BillableActions[]): BillableActions {
  const sum = noActions();
  for (const actions of all) for (const [type, count] of Object.entries(actions.byType)) sum.byType[type as ActionType] += count;
  return withTotals(sum);
}

/** `actions` divided by `count` (e.g. per booking), unrounded. */
export function perUnit(actions: BillableActions, count: number): BillableActions {
  const byType = Object.fromEntries(Object.entries(actions.byType).map(([type, value]) => [type, value / count])) as Record<ActionType, number>;
  return withTotals({ ...noActions(), byType });
}

function withTotals(actions: BillableActions): BillableActions {
  const byCategory = Object.fromEntries(
    ACTION_CATEGORIES.map((category) => [category, ACTION_TYPES[category].reduce((sum, type) => sum + actions.byType[type], 0)]),
  ) as Record<ActionCategory, number>;
  return { byType: actions.byType, byCategory, total: Object.values(byCategory).reduce((sum, value) => sum + value, 0) };
}
