/**
 * Every activity the worker registers, built from its dependencies. Workflows `import type` from here only.
 * Activities run at least once: each one is idempotent.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { CalendlyApiClient } from '../src/calendly/api-client';
import { createBookingActivities } from './bookings';
import { createCalendlyActivities } from './calendly';
import { createDeliveryLogActivities } from './delivery-log';

export interface ActivityDependencies {
  orm: MikroORM;
  calendly: CalendlyApiClient;
  /** for activities that start or signal other workflows */
  temporal: Client;
  taskQueue: string;
}

export function createActivities({ orm, calendly }: ActivityDependencies) {
  return {
    ...createCalendlyActivities(calendly),
    ...createBookingActivities(orm),
    ...createDeliveryLogActivities(orm),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { Booking } from './calendly';
