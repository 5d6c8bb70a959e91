import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities, DeliveryOutcomeSummary, UnprocessedDelivery } from '../src/contract';
import { RETRY_UNTIL_DONE } from './retry-policy';

const { keepUnprocessedDelivery } = proxyActivities<Activities>(RETRY_UNTIL_DONE);

/** A signed delivery this system cannot process yet: kept raw in the delivery log until it is replayed. */
export async function keepUnprocessed(delivery: UnprocessedDelivery): Promise<DeliveryOutcomeSummary> {
  await keepUnprocessedDelivery(delivery, workflowInfo().workflowId);
  return { outcome: 'unprocessed', reason: delivery.reason };
}
