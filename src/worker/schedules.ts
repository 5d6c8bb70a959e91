/**
 * The self-healing schedules, created or brought up to date by every worker at start-up (Web UI: Schedules).
 * Their IDs start with the task queue, so two deployments sharing a namespace keep their own.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { createOrUpdateSchedule } from '../temporal/schedules';
import type { Config } from '../config';
import { accountScheduleOptions } from '../../activities/account-schedules';
import { pruneExpiredRecords } from '../../workflows';
import { FAILED_DELIVERY_RETENTION_FACTOR } from '../../workflows/retention';

/** How often the retention schedule runs. */
const RETENTION_EVERY_MINUTES = 60;

export function scheduleIdsFor(taskQueue: string) {
  return {
    reconcile: `${taskQueue}-reconcile-bookings`,
    subscriptionCheck: `${taskQueue}-subscription-check`,
    retention: `${taskQueue}-retention`,
  };
}

/** `environmentAccount`: CALENDLY_API_TOKEN is set; without it only retention runs here (connections have their own). */
export function scheduleOptionsFor(taskQueue: string, settings: Config['schedules'], environmentAccount = true): ScheduleOptions[] {
  const ids = scheduleIdsFor(taskQueue);
  const forEnvironment = new Set([ids.reconcile, ids.subscriptionCheck]);
  return allScheduleOptions(taskQueue, settings, ids).filter((options) => environmentAccount || !forEnvironment.has(options.scheduleId));
}

/** The environment account's two (activities/account-schedules.ts), and retention, with SKIP and one interval of catch-up too. */
function allScheduleOptions(taskQueue: string, settings: Config['schedules'], ids: ReturnType<typeof scheduleIdsFor>): ScheduleOptions[] {
  const { deliveryLogRetentionDays, outboxRetentionDays } = settings;
  return [
    ...accountScheduleOptions(taskQueue, settings, ids),
    {
      scheduleId: ids.retention,
      // Hourly, so that each run deletes about an hour's worth of rows.
      spec: { intervals: [{ every: `${RETENTION_EVERY_MINUTES} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: pruneExpiredRecords,
        workflowId: ids.retention,
        taskQueue,
        args: [{ deliveryLogRetentionDays, outboxRetentionDays }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${RETENTION_EVERY_MINUTES} minutes` },
      state: {
        note: `Deletes delivery log rows and refusal counts older than ${deliveryLogRetentionDays} days (failed deliveries: ${FAILED_DELIVERY_RETENTION_FACTOR * deliveryLogRetentionDays}; never processing or unprocessed ones) and outbox events older than ${outboxRetentionDays} days.`,
      },
    },
  ];
}

export interface EnsuredSchedule {
  scheduleId: string;
  outcome: 'created' | 'updated';
}

export async function ensureSchedules(client: Client, taskQueue: string, settings: Config['schedules'], environmentAccount = true): Promise<EnsuredSchedule[]> {
  const ensured: EnsuredSchedule[] = [];
  for (const options of scheduleOptionsFor(taskQueue, settings, environmentAccount)) {
    ensured.push({ scheduleId: options.scheduleId, outcome: await createOrUpdateSchedule(client, options) });
  }
  return ensured;
}
