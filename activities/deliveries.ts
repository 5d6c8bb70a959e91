/** One delivery about an invitee, processed for the meeting's workflow that took it. */
import { ApplicationFailure } from '@temporalio/activity';
import type { Activities, InviteeDelivery, KeptMeeting, ProcessedDelivery } from '../src/contract';
import { cancelOfFailedDelivery, noShowChangeOf } from '../workflows/delivery-decisions';
import type { MeetingsAfterDelivery } from './reminders';

/** The steps a delivery is made of, each an activity of its own for the deliveries of the shape before December 2026. */
export type DeliverySteps = Pick<Activities, 'recordAcceptedDelivery' | 'fetchBookings' | 'saveBookings' | 'recordDeliveryOutcome' | 'cancelMeetingOfFailedDelivery'>;

/**
 * The steps run in one activity: one activity task (and one billable action) per delivery instead of a workflow and
 * its steps. Each step is idempotent, so a retry after a crash runs them again safely. Transient failures are thrown
 * (Temporal retries the activity); permanent ones (an ApplicationFailure marked non-retryable, e.g. the event was
 * deleted in Calendly or the token revoked) are logged as the delivery's outcome and returned.
 */
export function createDeliveryActivities(steps: DeliverySteps, meetings: MeetingsAfterDelivery): Pick<Activities, 'processDelivery'> {
  return {
    async processDelivery(delivery: InviteeDelivery, workflowId: string): Promise<ProcessedDelivery> {
      // Each pair settles before anything else is written, so that a late write never overwrites the outcome.
      const [accepted, fetched] = await Promise.allSettled([steps.recordAcceptedDelivery(delivery, workflowId), steps.fetchBookings(delivery)]);
      succeeded(accepted);
      try {
        const read = succeeded(fetched);
        const saved = await steps.saveBookings(read, noShowChangeOf(delivery, read.bookings[0].invitee.no_show?.created_at));
        const others = saved.map(({ inviteeUri }) => inviteeUri).filter((uri) => uri !== delivery.inviteeUri);
        const meeting = await meetings.keptMeeting(delivery.inviteeUri, others, delivery.connectionId, workflowId);
        await steps.recordDeliveryOutcome(delivery.dedupKey, 'processed', null);
        return { outcome: 'processed', leadId: saved[0].leadId, meetingId: saved[0].meetingId, meeting };
      } catch (error) {
        if (!(error instanceof ApplicationFailure && error.nonRetryable)) throw error;
        return failed(delivery, workflowId, error);
      }
    },
  };

  /** A signed cancel still cancels the meeting when Calendly cannot show it any more (see cancelOfFailedDelivery). */
  async function failed(delivery: InviteeDelivery, workflowId: string, failure: ApplicationFailure): Promise<ProcessedDelivery> {
    const reason = failure.message;
    const failureType = failure.type ?? null;
    await steps.recordDeliveryOutcome(delivery.dedupKey, 'failed', reason, failureType);
    const cancel = cancelOfFailedDelivery(delivery, reason);
    let meeting: KeptMeeting | null = null;
    if (cancel && (await steps.cancelMeetingOfFailedDelivery(delivery.inviteeUri, cancel.canceledAt, cancel.because, delivery.connectionId))) {
      meeting = await meetings.keptMeeting(delivery.inviteeUri, [], delivery.connectionId, workflowId);
    }
    return { outcome: 'failed', reason, failureType, meeting };
  }
}

function succeeded<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}
