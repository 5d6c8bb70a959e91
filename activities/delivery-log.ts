/** Keeps the webhook delivery log in step with the workflows. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { keepUnprocessedDelivery, recordAcceptedDelivery, recordDeliveryOutcome } from '../src/database/deliveries';
import type { Activities, InviteeDelivery, UnprocessedDelivery } from '../src/contract';
import { organizationLabel } from '../src/metrics';
import { deliveriesFailed, failureReasonOf } from './metrics';

export function createDeliveryLogActivities(orm: MikroORM): Pick<Activities, 'recordAcceptedDelivery' | 'recordDeliveryOutcome' | 'keepUnprocessedDelivery'> {
  return {
    async recordAcceptedDelivery(delivery: InviteeDelivery, workflowId: string): Promise<void> {
      await recordAcceptedDelivery(orm.em.fork(), delivery, workflowId);
    },
    async recordDeliveryOutcome(dedupKey: string, outcome: 'processed' | 'failed', detail: string | null, failureType?: string | null): Promise<void> {
      const change = await recordDeliveryOutcome(orm.em.fork(), dedupKey, outcome, detail);
      // Counted when the row moves to failed: a retried call finds it failed already, and is not counted again.
      if (outcome === 'failed' && change && change.previousOutcome !== 'failed') {
        deliveriesFailed.inc({ reason: failureReasonOf(failureType), organization: organizationLabel(change.organization) });
      }
    },
    async keepUnprocessedDelivery(delivery: UnprocessedDelivery, workflowId: string): Promise<void> {
      await keepUnprocessedDelivery(orm.em.fork(), delivery, workflowId);
    },
  };
}
