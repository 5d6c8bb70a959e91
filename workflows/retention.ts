import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities, RetentionCutoffs, RetentionPolicy, RetentionSummary } from '../src/contract';
import { RETRY_A_FEW_TIMES } from './retry-policy';

const { deleteExpiredRecords } = proxyActivities<Activities>({
  // The first run on a large table deletes many batches; the heartbeat after each shows it is alive.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: RETRY_A_FEW_TIMES,
});

/** `failed` deliveries are kept this many times as long as the rest of the delivery log: they can still be fed again. */
export const FAILED_DELIVERY_RETENTION_FACTOR = 3;

const DAY_MS = 86_400_000;

/**
 * Run by the retention schedule: deletes delivery log rows and refusal counts older than `deliveryLogRetentionDays`
 * (failed deliveries after three times that; never a delivery still `processing` or `unprocessed`), and outbox events
 * older than `outboxRetentionDays`.
 */
export async function pruneExpiredRecords({ deliveryLogRetentionDays, outboxRetentionDays }: RetentionPolicy): Promise<RetentionSummary> {
  const now = Date.now();
  const cutoffs: RetentionCutoffs = {
    deliveriesBefore: new Date(now - deliveryLogRetentionDays * DAY_MS).toISOString(),
    failedDeliveriesBefore: new Date(now - FAILED_DELIVERY_RETENTION_FACTOR * deliveryLogRetentionDays * DAY_MS).toISOString(),
    outboxEventsBefore: new Date(now - outboxRetentionDays * DAY_MS).toISOString(),
  };
  const deleted = await deleteExpiredRecords(cutoffs);
  log.info('Expired records deleted', { ...cutoffs, ...deleted });
  return deleted;
}
