/** Every activity the worker registers, built from its dependencies; their signatures are in src/contract.ts. */
import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../calendly/api-client';
import type { Activities } from '../contract';
import { describeDatabaseError, isDatabaseError } from '../database/errors';
import type { SubscriptionTarget } from '../subscriptions/inspection';
import { createBookingActivities } from './bookings';
import { createCalendlyActivities } from './calendly';
import { createDeliveryLogActivities } from './delivery-log';
import { createReminderActivities, type ReminderSettings } from './reminders';
import { createRetentionActivities } from './retention';
import { createSubscriptionActivities } from './subscriptions';

export interface ActivityDependencies {
  orm: MikroORM;
  calendly: CalendlyApiClient;
  /** for activities that start or signal other workflows */
  temporal: Client;
  taskQueue: string;
  /** where the self-healing jobs point the Calendly webhook subscription */
  subscriptionTarget: SubscriptionTarget;
  reminders: ReminderSettings;
}

export function createActivities({ orm, calendly, temporal, taskQueue, reminders, subscriptionTarget }: ActivityDependencies): Activities {
  return withoutPersonalDataInErrors({
    ...createCalendlyActivities(calendly),
    ...createBookingActivities(orm),
    ...createDeliveryLogActivities(orm),
    ...createReminderActivities(orm, temporal, taskQueue, reminders),
    ...createSubscriptionActivities({ calendly, temporal, taskQueue, subscriptionTarget }),
    ...createRetentionActivities(orm),
  });
}

/** Every activity reports a database error by its code, table and constraint only (see sanitizedActivityError). */
function withoutPersonalDataInErrors(activities: Activities): Activities {
  const wrapped: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities) as [string, (...args: unknown[]) => Promise<unknown>][]) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await activity(...args);
      } catch (error) {
        throw sanitizedActivityError(error);
      }
    };
    Object.defineProperty(wrapped[name], 'name', { value: name });
  }
  return wrapped as unknown as Activities;
}

/**
 * A database error becomes a retryable failure that says only its code, table and constraint, so that no email or
 * phone number reaches the worker's log or Temporal's history; anything else is returned as it is.
 */
export function sanitizedActivityError(error: unknown): unknown {
  if (!isDatabaseError(error)) return error;
  return ApplicationFailure.retryable(describeDatabaseError(error), 'DatabaseError');
}
