/** Every activity the worker registers, built from its dependencies; their signatures are in src/contract.ts. */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../calendly/api-client';
import type { Activities } from '../contract';
import type { SubscriptionTarget } from '../subscriptions/inspection';
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

export function createActivities({ orm, calendly, temporal, taskQueue, reminders, subscriptionTarget }: ActivityDependencies): Activities {
  return {
    ...createCalendlyActivities(calendly),
    ...createBookingActivities(orm),
    ...createDeliveryLogActivities(orm),
    ...createReminderActivities(orm, temporal, taskQueue, reminders),
    ...createSubscriptionActivities({ calendly, temporal, taskQueue, subscriptionTarget }),
  };
}
