/**
 * The worker's Prometheus counters, in prom-client's default registry (serving them over HTTP is the worker's
 * business). Each is created once per process, however often the activities are built.
 */
import { counter, histogram } from '../src/metrics';

/** Reminders the reminder webhook refused for good (a 4xx other than 408/429), by status and organization. */
export const reminderWebhookFailures = counter(
  'calendly_reminder_webhook_failures_total',
  'Reminders the reminder webhook refused for good (4xx other than 408/429, or `refused`: a destination that is not a public address; they are not sent again), by status and organization',
  ['status', 'organization'],
);

/** Bookings (lead and meeting) stored by saveBookings, new or updated. */
export const bookingsSaved = counter('calendly_bookings_saved_total', 'Bookings (a lead and its meeting) stored or updated by saveBookings, by organization', ['organization']);

/** Reminders sent: moved to `sent` with their reminder.sent outbox event (each once, however often retried). */
export const remindersSent = counter('calendly_reminders_sent_total', 'Reminders sent (moved to sent with their reminder.sent outbox event), by organization', ['organization']);

/** How long after its fire time each reminder was sent: timer, task queue and activity delays together. */
export const reminderLateness = histogram(
  'calendly_reminder_lateness_seconds',
  "Seconds from a reminder's fire time to the moment it was sent, by organization",
  [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
  ['organization'],
);

/** What each subscription check found wrong: `failing` (deliveries failing, Calendly retrying), `disabled`, `missing`, `wrong-events`. */
export const subscriptionProblems = counter(
  'calendly_webhook_subscription_problems_total',
  'Webhook subscription checks that found a problem, by problem (failing, disabled, missing, wrong-events) and organization',
  ['problem', 'organization'],
);

/** Outbound event webhook attempts and ends, per organization: `delivered`, `failed_attempt` (retried), `dead`. */
export const outboundWebhookDeliveries = counter(
  'calendly_outbound_webhook_deliveries_total',
  'Outbound event webhook deliveries by outcome (delivered, failed_attempt: retried, dead: refused for good or out of attempts) and organization',
  ['outcome', 'organization'],
);

/**
 * Deliveries that ended `failed` (a permanent error; fed again only by a redelivery, the backfill or a replay), by
 * organization and reason: `not_found` (Calendly no longer has the event or invitee), `unauthorized` (Calendly
 * refused the token), `connection_unavailable` (the connection needs reauthorization or was disconnected),
 * `invalid` (data Calendly or PostgreSQL refuses), `other`.
 */
export const deliveriesFailed = counter(
  'calendly_webhook_deliveries_failed_total',
  'Webhook deliveries that ended failed for good (fed again only by a redelivery, the backfill or a replay), by reason (not_found, unauthorized, connection_unavailable, invalid, other) and organization',
  ['reason', 'organization'],
);

const FAILURE_REASONS: Readonly<Record<string, string>> = {
  CalendlyResourceNotFound: 'not_found',
  CalendlyUnauthorized: 'unauthorized',
  CalendlyConnectionUnavailable: 'connection_unavailable',
  InvalidCalendlyData: 'invalid',
  CalendlyRequestRejected: 'invalid',
  InvalidBookingData: 'invalid',
};

/** The `reason` label of a failure type: one of a few, never the failure's own text. */
export function failureReasonOf(failureType: string | null | undefined): string {
  return (failureType && FAILURE_REASONS[failureType]) ?? 'other';
}
