import { ActivityFailure, ApplicationFailure, deprecatePatch, log, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DeliveryOutcomeSummary, InviteeDelivery, SavedBooking } from '../src/contract';
import { cancelOfFailedDelivery, noShowChangeOf } from './delivery-decisions';
import { RETRY_UNTIL_DONE } from './retry-policy';

/**
 * The steps are short database and Calendly calls. As local activities they run in the worker within the workflow
 * task: no activity task each, and one workflow task for the whole delivery. Retries are the same (in the worker,
 * which keeps the task alive).
 */
const steps = proxyLocalActivities<Activities>(RETRY_UNTIL_DONE);
/**
 * The steps ran as activities, then as local activities one after another, behind two patches; only the current
 * path is left. A delivery lives seconds, or as long as an outage it retries through: one started by the code before
 * `patched(STEPS_TOGETHER)` (November 2026) has long finished, one started under it replays with this call
 * (Temporal's step 2, `deprecatePatch`). Step 3, removing this call, is safe once no delivery started before this
 * code was deployed is running: `temporal workflow list --query 'WorkflowType="processInviteeDelivery" AND
 * ExecutionStatus="Running" AND StartTime < "<deploy time>"'` is empty; the recorded histories of the patched()
 * shape (*-steps-together.json) then go too.
 */
const STEPS_TOGETHER = 'delivery-independent-steps-together';

/**
 * The delivery workflow of the shape before December 2026, kept registered so that the runs it started finish on its
 * code: a delivery is now handed to its meeting's workflow (keepMeetingReminders) and processed there by one activity.
 * A delivery lives seconds, or as long as an outage it retries through; this file, the syncMeetingReminders activity and
 * the recorded histories of this shape (invitee-*.json) go once
 * `temporal workflow list --query 'WorkflowType="processInviteeDelivery" AND ExecutionStatus="Running"'` is empty
 * after the deploy. The benchmark also runs it, as the old shape's Temporal-only baseline.
 *
 * One Calendly delivery about one invitee: read the invitee (and the other side of a reschedule) from Calendly,
 * store leads and meetings, then tell each meeting's workflow, which keeps its reminders. A permanent failure is
 * recorded as `failed` in the delivery log, and the workflow then fails too.
 */
export async function processInviteeDelivery(delivery: InviteeDelivery): Promise<DeliveryOutcomeSummary> {
  deprecatePatch(STEPS_TOGETHER);
  const { workflowId } = workflowInfo();
  const { recordAcceptedDelivery, fetchBookings, saveBookings, syncMeetingReminders, recordDeliveryOutcome } = steps;
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
    return failDelivery(delivery, error);
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
 * Only permanent failures of a step get here (transient ones are retried until they pass): as the ApplicationFailure
 * the step threw, or wrapped in an ActivityFailure.
 */
async function failDelivery(delivery: InviteeDelivery, error: unknown): Promise<never> {
  const { recordDeliveryOutcome, cancelMeetingOfFailedDelivery, syncMeetingReminders } = steps;
  if (!(error instanceof ActivityFailure || error instanceof ApplicationFailure)) throw error;
  const cause = error instanceof ActivityFailure ? error.cause : error;
  const reason = cause?.message ?? error.message;
  const failureType = cause instanceof ApplicationFailure && cause.type ? cause.type : null;
  log.warn('Delivery could not be processed', { reason });
  await recordDeliveryOutcome(delivery.dedupKey, 'failed', reason, failureType);
  const cancel = cancelOfFailedDelivery(delivery, reason);
  if (cancel) {
    const known = await cancelMeetingOfFailedDelivery(delivery.inviteeUri, cancel.canceledAt, cancel.because, delivery.connectionId);
    if (known) await syncMeetingReminders(delivery.inviteeUri, delivery.connectionId);
  }
  throw ApplicationFailure.create({ message: `delivery failed: ${reason}`, type: failureType ?? 'DeliveryFailed', nonRetryable: true, cause: error });
}
