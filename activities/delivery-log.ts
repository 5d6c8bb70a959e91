/** Keeps the webhook delivery log in step with the workflows. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { keepUnprocessedDelivery, recordAcceptedDelivery, recordDeliveryOutcome } from '../src/database/deliveries';
import type { Activities, InviteeDelivery, UnprocessedDelivery } from '../src/contract';

export function createDeliveryLogActivities(orm: MikroORM): Pick<Activities, 'recordAcceptedDelivery' | 'recordDeliveryOutcome' | 'keepUnprocessedDelivery'> {
  return {
    async recordAcceptedDelivery(delivery: InviteeDelivery, workflowId: string): Promise<void> {
      await recordAcceptedDelivery(orm.em.fork(), delivery, workflowId);
    },
    async recordDeliveryOutcome(dedupKey: string, outcome: 'processed' | 'failed', detail: string | null): Promise<void> {
      await recordDeliveryOutcome(orm.em.fork(), dedupKey, outcome, detail);
    },
    async keepUnprocessedDelivery(delivery: UnprocessedDelivery, workflowId: string): Promise<void> {
      await keepUnprocessedDelivery(orm.em.fork(), delivery, workflowId);
    },
  };
}
