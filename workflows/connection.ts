import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities, ConnectionSetUp, ConnectionSetUpResult, ConnectionTeardown } from '../src/contract';
import { RETRY_A_FEW_TIMES } from './retry-policy';

const { setUpConnectionSubscription, ensureConnectionSchedules, tearDownConnection } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: RETRY_A_FEW_TIMES,
});

const { backfillBookings } = proxyActivities<Activities>({
  // A large organization takes a while to list; the heartbeat (every page and every rate-limit wait) shows it is alive.
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: RETRY_A_FEW_TIMES,
});

/** Everything ahead: invitees may book as far ahead as an event type allows. */
const SYNC_AHEAD_DAYS = 3 * 365;

/**
 * Run when an organization connects (or reconnects) its Calendly account: its own webhook subscription, its own
 * schedules, then a full sync of its bookings through the same delivery workflows, with progress on the connection.
 * A free Calendly plan allows no webhook: the sync and the reconcile schedule still bring its bookings in.
 */
export async function setUpConnection({ connectionId, syncFrom }: ConnectionSetUp): Promise<ConnectionSetUpResult> {
  const webhookState = await setUpConnectionSubscription(connectionId);
  if (webhookState !== 'active') log.warn('Calendly delivers no webhooks to this connection; bookings come by the reconcile schedule', { connectionId, webhookState });
  await ensureConnectionSchedules(connectionId);
  const to = new Date(Date.now() + SYNC_AHEAD_DAYS * 86_400_000).toISOString();
  const sync = await backfillBookings({ from: syncFrom, to }, { connectionId });
  log.info('Connection set up', { connectionId, webhookState, ...sync });
  return { webhookState, sync };
}

/** Disconnect: the subscription deleted and the token revoked at Calendly, the schedules gone; the data stays. */
export async function disconnectConnection(teardown: ConnectionTeardown): Promise<void> {
  await tearDownConnection(teardown);
}
