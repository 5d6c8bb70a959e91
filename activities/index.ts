/** Every activity the worker registers, built from its dependencies; their signatures are in src/contract.ts. */
import { ApplicationFailure } from '@temporalio/activity';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import type { Config } from '../src/config';
import type { SecretBox } from '../src/connections/secret-box';
import type { ConnectionServices } from '../src/connections/services';
import type { Activities } from '../src/contract';
import { describeDatabaseError, isDatabaseError } from '../src/database/errors';
import type { OutboundDestinations } from '../src/outbound-destinations';
import type { SubscriptionTarget } from '../src/subscriptions/inspection';
import { createBookingActivities } from './bookings';
import { createCalendlyActivities } from './calendly';
import { CalendlyAccounts } from './calendly-accounts';
import { createConnectionActivities } from './connections';
import { createDeliveryActivities } from './deliveries';
import { createDeliveryLogActivities } from './delivery-log';
import { createOutboundWebhookActivities } from './outbound-webhooks';
import { createMeetingsAfterDelivery, createReminderActivities, type ReminderSettings } from './reminders';
import { createRetentionActivities } from './retention';
import { createRoutingFormActivities } from './routing-forms';
import { createSubscriptionActivities } from './subscriptions';

export interface ActivityDependencies {
  orm: MikroORM;
  /** the personal token connection's client (CALENDLY_API_TOKEN) and where its subscription points, when set */
  personalToken?: { calendly: CalendlyApiClient; target: SubscriptionTarget };
  /** OAuth connections, when configured */
  connections?: ConnectionServices;
  /** for activities that start or signal other workflows */
  temporal: Client;
  taskQueue: string;
  reminders: ReminderSettings;
  /** where the reminder webhook and outbound event webhooks may be POSTed */
  destinations: OutboundDestinations;
  /** opens outbound endpoint secrets (sealed when CONNECTION_ENCRYPTION_KEY is set) */
  secretBox?: SecretBox;
  /** intervals and windows of each connection's own schedules */
  schedules: Config['schedules'];
}

export function createActivities({ orm, personalToken, connections, temporal, taskQueue, reminders, destinations, secretBox, schedules }: ActivityDependencies): Activities {
  const accounts = new CalendlyAccounts({ orm, personalToken, oauth: connections });
  const steps = { ...createCalendlyActivities(accounts), ...createBookingActivities(orm, accounts), ...createDeliveryLogActivities(orm) };
  return withoutPersonalDataInErrors({
    ...steps,
    ...createDeliveryActivities(steps, createMeetingsAfterDelivery(orm, accounts, temporal, reminders)),
    ...createRoutingFormActivities(orm, accounts),
    ...createReminderActivities(orm, accounts, temporal, taskQueue, reminders, destinations),
    ...createSubscriptionActivities({ orm, accounts, temporal, taskQueue }),
    ...createConnectionActivities({ orm, accounts, temporal, taskQueue, schedules, connect: connections?.connect }),
    ...createRetentionActivities(orm),
    ...createOutboundWebhookActivities(orm, destinations, secretBox),
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
