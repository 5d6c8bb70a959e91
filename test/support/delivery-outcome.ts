/**
 * A delivery's outcome as the delivery log shows it, once its meeting's workflow has processed it: the booking's
 * workflow lives until the meeting, so a test waits on the delivery itself rather than on a workflow's result.
 */
import type { FilterQuery } from '@mikro-orm/core';
import { WebhookDeliverySchema, type WebhookDelivery } from '../../src/database/entities/webhook-delivery';
import { eventually, type TestSystem } from './system';

/**
 * `delivery`: the receiver's answer's trackingId, which names the log row of a delivery that was not a duplicate; or
 * what else finds its row (e.g. the workflow and event type of a replayed one).
 */
export async function deliveryOutcome(system: Pick<TestSystem, 'orm'>, delivery: string | FilterQuery<WebhookDelivery>, timeoutMs = 30_000): Promise<WebhookDelivery> {
  const where = typeof delivery === 'string' ? { id: delivery } : delivery;
  return eventually(
    async () => {
      const row = await system.orm.em.fork().findOne(WebhookDeliverySchema, where);
      return row && (row.outcome === 'processed' || row.outcome === 'failed') ? row : undefined;
    },
    timeoutMs,
    `the outcome of delivery ${JSON.stringify(where)}`,
  );
}
