import { ActivityFailure, ApplicationFailure, log, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DeliveryOutcomeSummary, RoutingFormSubmissionDelivery } from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

/** Short database steps: local activities, one workflow task for the whole delivery (as processInviteeDelivery). */
const steps = proxyLocalActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * One `routing_form_submission.created`: the submission stored for the connection's organization, with the lead of
 * its email answer (announced as `lead.form_submitted`). Its workflow ID comes from the submission, so a redelivery
 * starts nothing. The delivery carries the submission, signed by Calendly: nothing is read from the API.
 * A permanent failure is recorded as `failed` and fails the run, so the replay can feed it again.
 */
export async function processRoutingFormSubmission(delivery: RoutingFormSubmissionDelivery): Promise<DeliveryOutcomeSummary> {
  const { recordAcceptedFormDelivery, saveRoutingFormSubmission, recordDeliveryOutcome } = steps;
  await recordAcceptedFormDelivery(delivery, workflowInfo().workflowId);
  try {
    const saved = await saveRoutingFormSubmission(delivery);
    await recordDeliveryOutcome(delivery.dedupKey, 'processed', saved.leadId ? null : 'no email answer: the submission is stored, no lead');
    log.info('Routing form submission saved', { submissionId: saved.submissionId, leadId: saved.leadId, created: saved.created });
    return { outcome: 'processed', submissionId: saved.submissionId, leadId: saved.leadId, meetingId: saved.meetingId };
  } catch (error) {
    if (!(error instanceof ActivityFailure || error instanceof ApplicationFailure)) throw error;
    const reason = (error instanceof ActivityFailure ? error.cause?.message : undefined) ?? error.message;
    log.warn('Routing form submission could not be processed', { reason });
    await recordDeliveryOutcome(delivery.dedupKey, 'failed', reason);
    throw ApplicationFailure.create({ message: `delivery failed: ${reason}`, type: 'DeliveryFailed', nonRetryable: true, cause: error });
  }
}
