import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  deliverToMeeting,
  meetingChanged,
  MEETING_STATUS,
  plan,
  type Activities,
  type InviteeDelivery,
  type KeptMeeting,
  type MeetingPlan,
  type MeetingRemindersInput,
  type MeetingSnapshot,
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
  recentlyTaken,
  withPendingCanceled,
  withReminderState,
} from './reminder-plan';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { processDelivery, planReminders, sendReminder, cancelReminders, deliverReminderWebhook } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * One booking, from its first delivery to its meeting's start: the booking's only workflow. Each Calendly delivery
 * about its invitee (created, canceled, no-show) is handed to it as an update, taken at once (the receiver acknowledges
 * then) and processed in order by one activity. It keeps a durable timer for each reminder (e.g. 24 h, 1 h and 15 min
 * before), each sent once; a cancel or reschedule ends it and cancels the reminders still pending. It holds one timer
 * at a time, so a meeting booked months ahead keeps a short history; many changes make it continue as new. A delivery
 * that comes after it ended (a no-show after the meeting) starts a short new run of the same ID.
 *
 * Runs started before deliveries came as updates (with `meeting` set, by signal-with-start) replay the same commands:
 * without updates the loop below is the one they ran.
 */
export async function keepMeetingReminders(input: MeetingRemindersInput): Promise<MeetingPlan | null> {
  let meeting: MeetingSnapshot | undefined = input.meeting;
  let reminders: PlannedReminder[] = input.reminders ?? [];
  let sendOutbound = input.sendOutbound ?? false;
  const undelivered = new Set(input.undeliveredOutbound ?? []);
  const taken = new Map(Object.entries(input.takenDeliveries ?? {}));
  const queued: InviteeDelivery[] = [];
  let lastFailure: ApplicationFailure | undefined;
  let changed = false;

  function keep(snapshot: MeetingSnapshot): void {
    const kept = meeting ? meetingAfterChange(meeting, snapshot) : snapshot;
    if (kept === meeting) return;
    meeting = kept;
    changed = true;
  }
  setHandler(meetingChanged, keep);
  setHandler(plan, () => (meeting ? planOf(meeting, reminders) : null));
  // Taken synchronously, so the update completes in the task that accepts it; a dedup key taken before answers with
  // the delivery that took it. A failed delivery's key is given back (below), so a replay can feed it again.
  setHandler(deliverToMeeting, (delivery) => {
    const first = taken.get(delivery.dedupKey);
    if (first) return { deliveryId: first };
    taken.set(delivery.dedupKey, delivery.deliveryId);
    queued.push(delivery);
    return { deliveryId: delivery.deliveryId };
  });

  /** The deliveries taken so far, one at a time in the order they came, each through its own processDelivery. */
  async function processQueued(): Promise<void> {
    for (let delivery = queued.shift(); delivery; delivery = queued.shift()) {
      const processed = await processDelivery(delivery, workflowInfo().workflowId).catch((error: unknown) => {
        if (!(error instanceof ActivityFailure)) throw error;
        return { outcome: 'failed' as const, reason: error.cause?.message ?? error.message, failureType: null, meeting: null };
      });
      if (processed.outcome === 'failed') {
        taken.delete(delivery.dedupKey);
        lastFailure = ApplicationFailure.create({ message: `delivery failed: ${processed.reason}`, type: processed.failureType ?? 'DeliveryFailed', nonRetryable: true });
        log.warn('Delivery could not be processed', { dedupKey: delivery.dedupKey, reason: processed.reason });
      } else {
        log.info('Booking saved', { dedupKey: delivery.dedupKey, leadId: processed.leadId, meetingId: processed.meetingId });
      }
      if (processed.meeting) keepProcessed(processed.meeting);
    }
  }
  function keepProcessed({ meeting: snapshot, reminders: planned, sendOutbound: outbound }: KeptMeeting): void {
    keep(snapshot);
    if (planned && meeting?.status === 'active') reminders = planned;
    sendOutbound = outbound;
    changed = true;
  }

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

  if (!meeting) {
    // Started by a delivery: its update is taken in this run's first task.
    await condition(() => queued.length > 0);
    await processQueued();
  }
  if (meeting && plansItsOwnReminders(meeting, input.reminders) && input.offsetsSeconds) reminders = await planReminders(meeting.meetingId, input.offsetsSeconds);

  for (let next = nextReminderDue(meeting, reminders); next; next = nextReminderDue(meeting, reminders)) {
    changed = false;
    const waitMs = msUntilDue(next, Date.now());
    if (waitMs > 0 && (await condition(() => changed || queued.length > 0, waitMs))) {
      await processQueued();
      if (historyIsLong(workflowInfo(), input.maxHistoryEvents)) {
        log.info('Continuing as new to keep the history short', { historyLength: workflowInfo().historyLength });
        await continueAsNew<typeof keepMeetingReminders>({
          ...input,
          meeting,
          reminders,
          sendOutbound,
          undeliveredOutbound: [...undelivered],
          takenDeliveries: recentlyTaken(taken),
        });
      }
      continue;
    }
    const state = await sendReminder(next.reminderId);
    reminders = withReminderState(reminders, next.reminderId, state);
    log.info('Reminder fired', { offsetSeconds: next.offsetSeconds, fireAt: next.fireAt, state });
    if (postsToReminderWebhook(state, sendOutbound)) outbound.push(deliver(next.reminderId));
  }

  if (meeting && meeting.status !== 'active') {
    const canceled = await cancelReminders(meeting.meetingId);
    reminders = withPendingCanceled(reminders);
    upsertSearchAttributes([{ key: MEETING_STATUS, value: meeting.status }]);
    log.info('Meeting ended before its start; pending reminders canceled', { status: meeting.status, canceled });
  }
  await Promise.all(outbound);
  // A delivery taken while the run was ending is still processed by it: its reminders are over, its data is not.
  await processQueued();
  if (!meeting && lastFailure) throw lastFailure;
  return meeting ? planOf(meeting, reminders) : null;
}
