import { ActivityFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryOutcomeSummary, InviteeDelivery } from '../src/shared/deliveries';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { recordAcceptedDelivery, fetchBooking, saveBooking, recordDeliveryOutcome } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * One Calendly delivery about one invitee: read the invitee and its event from Calendly, store lead and meeting.
 * Its workflow ID is derived from the delivery's dedup key, so a redelivery cannot start it twice.
 */
export async function processInviteeDelivery(delivery: InviteeDelivery): Promise<DeliveryOutcomeSummary> {
  const { workflowId } = workflowInfo();
  await recordAcceptedDelivery(delivery, workflowId);
  try {
    const booking = await fetchBooking(delivery);
    const saved = await saveBooking(booking);
    await recordDeliveryOutcome(delivery.dedupKey, 'processed', null);
    log.info('Booking saved', { leadId: saved.leadId, meetingId: saved.meetingId });
    return { outcome: 'processed', ...saved };
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    // Only permanent failures get here (e.g. the event was deleted in Calendly): record them, keep the workflow green.
    const reason = error.cause?.message ?? error.message;
    log.warn('Delivery could not be processed', { reason });
    await recordDeliveryOutcome(delivery.dedupKey, 'failed', reason);
    return { outcome: 'failed', reason };
  }
}
