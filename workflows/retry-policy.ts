import type { ActivityOptions } from '@temporalio/workflow';

/**
 * Transient failures (database down, Calendly 5xx or 429, network) are retried without an attempt limit and with a
 * bounded interval, so an outage delays bookings and loses none. Permanent ones are thrown as non-retryable
 * ApplicationFailures by the activities and reach the workflow as an ActivityFailure.
 */
export const RETRY_UNTIL_DONE: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
};

/**
 * For the jobs a schedule runs again anyway (reconcile, subscription check): a few attempts, then the run fails and
 * shows as failed in the Web UI. Retrying forever would hide a lasting problem (e.g. a revoked token) and, as the
 * schedules skip a run while the previous one is still going, stop every later run.
 */
export const RETRY_A_FEW_TIMES: NonNullable<ActivityOptions['retry']> = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 5,
};
