import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities, ReconcileWindow, SyncSummary } from '../src/contract';
import { RETRY_A_FEW_TIMES } from './retry-policy';

const { backfillBookings } = proxyActivities<Activities>({
  // A large organization takes a while to list; the heartbeat (every page and every rate-limit wait) shows it is alive.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: RETRY_A_FEW_TIMES,
});

/**
 * Run by the reconcile schedule: feeds every invitee of the events starting in the window through the delivery
 * workflows, so a booking whose webhook never arrived (receiver down, subscription disabled) is stored anyway, once.
 * Calendly filters by start time only; a booking made during an outage starts after the outage began, so a look-back
 * at least as long as the outage finds it.
 */
export async function reconcileBookings({ lookBackHours, lookAheadDays, connectionId }: ReconcileWindow): Promise<SyncSummary> {
  const now = Date.now();
  const from = new Date(now - lookBackHours * 3_600_000).toISOString();
  const to = new Date(now + lookAheadDays * 86_400_000).toISOString();
  const summary = await backfillBookings({ from, to }, { connectionId });
  if (summary.started) log.warn('Fed bookings or cancellations this system had missed from the Calendly API', { from, to, ...summary });
  else log.info('Bookings reconciled: none missing', { from, to, ...summary });
  return summary;
}
