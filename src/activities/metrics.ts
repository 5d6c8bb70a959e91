/**
 * The worker's Prometheus counters, in prom-client's default registry (serving them over HTTP is the worker's
 * business). Each is created once per process, however often the activities are built.
 */
import { Counter, register } from 'prom-client';

function counter<T extends string>(name: string, help: string, labelNames: readonly T[]): Counter<T> {
  const existing = register.getSingleMetric(name);
  return (existing as Counter<T> | undefined) ?? new Counter({ name, help, labelNames });
}

/** Reminders the reminder webhook refused for good (a 4xx other than 408/429), by status. */
export const reminderWebhookFailures = counter(
  'calendly_reminder_webhook_failures_total',
  'Reminders the reminder webhook refused for good (4xx other than 408/429); they are not sent again',
  ['status'],
);

/** Calendly API calls refused because of the API token (401/403), by status. */
export const calendlyAuthFailures = counter(
  'calendly_api_auth_failures_total',
  'Calendly API calls that answered 401 or 403: the API token was revoked or lacks a scope',
  ['status'],
);
