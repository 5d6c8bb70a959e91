/**
 * Every activity the worker registers, built from its dependencies. Workflows `import type` from here only.
 * Activities run at least once: each one is idempotent.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import type { SubscriptionTarget } from '../src/subscriptions/inspection';
import { createBookingActivities } from './bookings';
import { createCalendlyActivities } from './calendly';
import { createDeliveryLogActivities } from './delivery-log';
import { createReminderActivities, type ReminderSettings } from './reminders';
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

export function createActivities({ orm, calendly, temporal, taskQueue, reminders, subscriptionTarget }: ActivityDependencies) {
  return {
    ...createCalendlyActivities(calendly),
    ...createBookingActivities(orm),
    ...createDeliveryLogActivities(orm),
    ...createReminderActivities(orm, temporal, taskQueue, reminders),
    ...createSubscriptionActivities({ calendly, temporal, taskQueue, subscriptionTarget }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { FetchedBookings } from './calendly';
