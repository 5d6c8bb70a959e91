import { ActivityFailure, ApplicationFailure, log, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DeliveryOutcomeSummary, InviteeDelivery, NoShowChange, SavedBooking } from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

/**
 * The steps are short database and Calendly calls. As local activities they run in the worker within the workflow
 * task: no activity task each, and one workflow task for the whole delivery instead of six, which was most of what
 * the Temporal server spent on a booking. Retries are the same (in the worker, which keeps the task alive).
 * Deliveries started before this change replay with the activities they recorded.
 */
const DELIVERY_STEPS_IN_WORKER = 'delivery-steps-as-local-activities';
/**
 * Steps that do not depend on each other run together: the delivery is recorded while Calendly is read, and the
 * outcome while the meetings' workflows are told. Each step is as before; the workflow wakes twice less per booking.
 */
const INDEPENDENT_STEPS_TOGETHER = 'delivery-independent-steps-together';
const localSteps = proxyLocalActivities<Activities>(RETRY_UNTIL_DONE);
const recordedSteps = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * One Calendly delivery about one invitee: read the invitee (and the other side of a reschedule) from Calendly,
 * store leads and meetings, then tell each meeting's workflow, which keeps its reminders.
 * Its workflow ID is derived from the delivery's dedup key, so a redelivery cannot start it twice.
 *
 * A permanent failure (e.g. the event was deleted in Calendly, or the API token was revoked) is recorded as
 * `failed` in the delivery log, and the workflow then fails too: a failed run does not use up its workflow ID, so a
 * redelivery, the backfill or the replay command can feed the same delivery again, and ops see it as Failed.
 */
export async function processInviteeDelivery(delivery: InviteeDelivery): Promise<DeliveryOutcomeSummary> {
  const { workflowId } = workflowInfo();
  if (patched(INDEPENDENT_STEPS_TOGETHER)) return processTogether(delivery, workflowId);
  const steps = patched(DELIVERY_STEPS_IN_WORKER) ? localSteps : recordedSteps;
  const { recordAcceptedDelivery, fetchBookings, saveBookings, syncMeetingReminders, recordDeliveryOutcome } = steps;
  await recordAcceptedDelivery(delivery, workflowId);
  try {
    const fetched = await fetchBookings(delivery);
    const saved = await saveBookings(fetched, noShowChangeOf(delivery, fetched.bookings[0].invitee.no_show?.created_at));
    for (const { inviteeUri } of saved) await syncMeetingReminders(inviteeUri, delivery.connectionId);
    await recordDeliveryOutcome(delivery.dedupKey, 'processed', null);
    return processed(saved);
  } catch (error) {
    return failDelivery(delivery, error, steps);
  }
}

async function processTogether(delivery: InviteeDelivery, workflowId: string): Promise<DeliveryOutcomeSummary> {
  const { recordAcceptedDelivery, fetchBookings, saveBookings, syncMeetingReminders, recordDeliveryOutcome } = localSteps;
  // Each pair settles before anything else is written, so that a late write never overwrites the outcome.
  const [accepted, fetched] = await Promise.allSettled([recordAcceptedDelivery(delivery, workflowId), fetchBookings(delivery)]);
  succeeded(accepted);
  try {
    const read = succeeded(fetched);
    const saved = await saveBookings(read, noShowChangeOf(delivery, read.bookings[0].invitee.no_show?.created_at));
    const told = await Promise.allSettled([
      recordDeliveryOutcome(delivery.dedupKey, 'processed', null),
      ...saved.map(({ inviteeUri }) => syncMeetingReminders(inviteeUri, delivery.connectionId)),
    ]);
    told.forEach(succeeded);
    return processed(saved);
  } catch (error) {
    return failDelivery(delivery, error, localSteps);
  }
}

function processed(saved: SavedBooking[]): DeliveryOutcomeSummary {
  log.info('Booking saved', { leadId: saved[0].leadId, meetingId: saved[0].meetingId });
  return { outcome: 'processed', leadId: saved[0].leadId, meetingId: saved[0].meetingId };
}

function succeeded<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/**
 * Only permanent failures of a step get here (transient ones are retried until they pass): an activity's wrapped in
 * an ActivityFailure, a local activity's as the ApplicationFailure it threw.
 */
async function failDelivery(delivery: InviteeDelivery, error: unknown, steps: typeof localSteps): Promise<never> {
  const { recordDeliveryOutcome, cancelMeetingOfFailedDelivery, syncMeetingReminders } = steps;
  if (!(error instanceof ActivityFailure || error instanceof ApplicationFailure)) throw error;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const reason = cause?.message ?? error.message;
  log.warn('Delivery could not be processed', { reason });
  await recordDeliveryOutcome(delivery.dedupKey, 'failed', reason);
  // A signed cancel is a cancel even when Calendly cannot show it any more: its reminders must not fire.
  if (delivery.eventName === 'invitee.canceled') {
    const canceledAt = delivery.occurredAt ?? delivery.receivedAt;
    const because = `canceled in Calendly; the cancel could not be read: ${reason}`;
    const known = await cancelMeetingOfFailedDelivery(delivery.inviteeUri, canceledAt, because, delivery.connectionId);
    if (known) await syncMeetingReminders(delivery.inviteeUri, delivery.connectionId);
  }
  const type = cause instanceof ApplicationFailure && cause.type ? cause.type : 'DeliveryFailed';
  throw ApplicationFailure.create({ message: `delivery failed: ${reason}`, type, nonRetryable: true, cause: error });
}

/** Marks and unmarks follow the delivery, in the order they happened in Calendly. */
function noShowChangeOf(delivery: InviteeDelivery, markedAt: string | undefined): NoShowChange | undefined {
  const occurredAt = delivery.occurredAt ?? delivery.receivedAt;
  if (delivery.eventName === 'invitee_no_show.created') return { inviteeUri: delivery.inviteeUri, noShowAt: markedAt ?? occurredAt, occurredAt };
  if (delivery.eventName === 'invitee_no_show.deleted') return { inviteeUri: delivery.inviteeUri, noShowAt: null, occurredAt };
  return undefined;
}
