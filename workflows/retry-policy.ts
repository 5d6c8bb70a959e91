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
