/**
 * The self-healing schedules, created or brought up to date by every worker at start-up (Web UI: Schedules).
 * Their IDs start with the task queue, so two deployments sharing a namespace keep their own.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { createOrUpdateSchedule } from '../temporal/schedules';
import type { Config } from '../config';
import { checkWebhookSubscription, pruneExpiredRecords, reconcileBookings } from '../workflows';
import { FAILED_DELIVERY_RETENTION_FACTOR } from '../workflows/retention';

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

/*
 * SKIP: a run still going when the next is due makes that one pointless. Catch-up covers one interval: after Temporal
 * was down, one late run is enough, as every run looks at the whole window (retention: at everything expired).
 */
function allScheduleOptions(taskQueue: string, settings: Config['schedules'], ids: ReturnType<typeof scheduleIdsFor>): ScheduleOptions[] {
  const { reconcileEveryMinutes, reconcileLookBackHours, reconcileLookAheadDays, subscriptionCheckEveryMinutes } = settings;
  const { deliveryLogRetentionDays, outboxRetentionDays } = settings;
  return [
    {
      scheduleId: ids.reconcile,
      spec: { intervals: [{ every: `${reconcileEveryMinutes} minutes` }] },
      action: {
        type: 'startWorkflow',
        workflowType: reconcileBookings,
        workflowId: ids.reconcile,
        taskQueue,
        args: [{ lookBackHours: reconcileLookBackHours, lookAheadDays: reconcileLookAheadDays }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${reconcileEveryMinutes} minutes` },
      state: {
        note: `Feeds bookings that never arrived as webhooks from the Calendly API: events starting from ${reconcileLookBackHours} h ago to ${reconcileLookAheadDays} days ahead.`,
      },
    },
    {
      scheduleId: ids.subscriptionCheck,
      spec: { intervals: [{ every: `${subscriptionCheckEveryMinutes} minutes` }] },
      action: { type: 'startWorkflow', workflowType: checkWebhookSubscription, workflowId: ids.subscriptionCheck, taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${subscriptionCheckEveryMinutes} minutes` },
      state: { note: 'Re-creates the Calendly webhook subscription when it is missing, wrong, or disabled by Calendly.' },
    },
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
