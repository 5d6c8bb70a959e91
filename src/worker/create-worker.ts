import type { MikroORM } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { ReminderSettings } from '../activities/reminders';
import type { CalendlyApiClient } from '../calendly/api-client';
import type { SubscriptionTarget } from '../subscriptions/inspection';

export interface BookingWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  orm: MikroORM;
  calendly: CalendlyApiClient;
  temporal: Client;
  reminders: ReminderSettings;
  subscriptionTarget: SubscriptionTarget;
  /** See bundleWorkflows(): built once ahead of the worker. */
  workflowBundle: WorkflowBundle;
}

export function createBookingWorker({ connection, namespace, taskQueue, orm, calendly, temporal, reminders, subscriptionTarget, workflowBundle }: BookingWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle,
    activities: createActivities({ orm, calendly, temporal, taskQueue, reminders, subscriptionTarget }),
    // Lets activities in flight finish (and be recorded) when the worker is stopped.
    shutdownGraceTime: '10 seconds',
  });
}
