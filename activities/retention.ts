/** Retention: deletes what the delivery log, the refusal counts and the outbox no longer need to keep. */
import { heartbeat } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Activities, RetentionCutoffs, RetentionSummary } from '../src/contract';
import { deleteExpiredDeliveries } from '../src/database/deliveries';
import { deleteEventsBefore } from '../src/database/outbox';
import { deleteRefusalCountsBefore } from '../src/database/refusals';

/** Rows per delete statement: each is a short transaction that holds few locks, whatever the backlog. */
const RETENTION_BATCH_SIZE = 1000;

export function createRetentionActivities(orm: MikroORM, batchSize = RETENTION_BATCH_SIZE): Pick<Activities, 'deleteExpiredRecords'> {
  return {
    async deleteExpiredRecords(cutoffs: RetentionCutoffs): Promise<RetentionSummary> {
      const em = orm.em.fork();
      const deleted: RetentionSummary = { deliveries: 0, refusals: 0, outboxEvents: 0 };
      const inBatches = async (table: keyof RetentionSummary, deleteBatch: () => Promise<number>) => {
        for (;;) {
          const count = await deleteBatch();
          deleted[table] += count;
          heartbeat(deleted);
          if (count < batchSize) return;
        }
      };
      const deliveries = { before: new Date(cutoffs.deliveriesBefore), failedBefore: new Date(cutoffs.failedDeliveriesBefore) };
      await inBatches('deliveries', () => deleteExpiredDeliveries(em, deliveries, batchSize));
      await inBatches('refusals', () => deleteRefusalCountsBefore(em, deliveries.before, batchSize));
      await inBatches('outboxEvents', () => deleteEventsBefore(em, new Date(cutoffs.outboxEventsBefore), batchSize));
      return deleted;
    },
  };
}
