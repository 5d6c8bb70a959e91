import { ActivityFailure, log, proxyActivities } from '@temporalio/workflow';
import type { Activities, OutboundDeliveryInput, OutboundDeliveryResult } from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { markOutboundDeliveryDead } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/**
 * Kept for runs started before one workflow per endpoint (outbound-endpoint.ts, December 2026): the dispatcher no
 * longer starts it, and a run lives at most its retry schedule (OUTBOUND_WEBHOOK_* attempts and waits). It goes,
 * with postOutboundDelivery, markOutboundDeliveryDead and its recorded histories, once `temporal workflow list --query
 * 'WorkflowType="deliverOutboundEvent" AND ExecutionStatus="Running"'` is empty.
 *
 * One outbound event webhook delivery (ID from the delivery's id, so any number of dispatchers start it once):
 * POSTed until its endpoint answers 2xx, on a bounded schedule. A permanent refusal or the last failed attempt
 * makes it dead, where ops see it and can replay it; nothing is retried forever.
 */
export async function deliverOutboundEvent({ deliveryId, retry }: OutboundDeliveryInput): Promise<OutboundDeliveryResult> {
  const { postOutboundDelivery } = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: `${retry.initialIntervalSeconds} seconds`,
      maximumInterval: `${retry.maximumIntervalSeconds} seconds`,
      backoffCoefficient: 2,
    },
  });
  try {
    await postOutboundDelivery(deliveryId);
    return { deliveryId, state: 'delivered' };
  } catch (error) {
    if (!(error instanceof ActivityFailure)) throw error;
    log.warn('Outbound delivery failed for good; it is dead until replayed', { deliveryId, reason: error.cause?.message ?? error.message });
    await markOutboundDeliveryDead(deliveryId);
    return { deliveryId, state: 'dead' };
  }
}
