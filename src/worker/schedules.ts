/**
 * The self-healing schedules, created or brought up to date by every worker at start-up (Web UI: Schedules).
 * Their IDs start with the task queue, so two deployments sharing a namespace keep their own.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { findConnection } from '../database/connections';
import { createOrUpdateSchedule } from '../temporal/schedules';
import type { Config } from '../config';
import { accountScheduleOptions } from '../../activities/account-schedules';
import { pruneExpiredRecords } from '../../workflows';
import { connectionScheduleIds, PERSONAL_TOKEN_CONNECTION_ID } from '../workflow-ids';
import { FAILED_DELIVERY_RETENTION_FACTOR } from '../../workflows/retention';

/** How often the retention schedule runs. */
const RETENTION_EVERY_MINUTES = 60;

/** The personal token connection's two (under the IDs they had before it was a connection), and retention. */
export function scheduleIdsFor(taskQueue: string) {
  return { ...connectionScheduleIds(taskQueue, PERSONAL_TOKEN_CONNECTION_ID), retention: `${taskQueue}-retention` };
}

/**
 * `personalToken`: CALENDLY_API_TOKEN is set, and its connection's two schedules are kept here (like an OAuth
 * connection's, activities/account-schedules.ts); without it only retention (OAuth connections have their own).
 */
export function scheduleOptionsFor(taskQueue: string, settings: Config['schedules'], personalToken = true): ScheduleOptions[] {
  const ids = scheduleIdsFor(taskQueue);
  return [...(personalToken ? accountScheduleOptions(taskQueue, settings, ids, PERSONAL_TOKEN_CONNECTION_ID) : []), retentionScheduleOptions(taskQueue, settings, ids.retention)];
}

/** Retention, with SKIP and one interval of catch-up, as the connections' schedules. */
function retentionScheduleOptions(taskQueue: string, settings: Config['schedules'], scheduleId: string): ScheduleOptions {
  const { deliveryLogRetentionDays, outboxRetentionDays } = settings;
  return {
    scheduleId,
    // Hourly, so that each run deletes about an hour's worth of rows.
    spec: { intervals: [{ every: `${RETENTION_EVERY_MINUTES} minutes` }] },
    action: {
      type: 'startWorkflow',
      workflowType: pruneExpiredRecords,
      workflowId: scheduleId,
      taskQueue,
      args: [{ deliveryLogRetentionDays, outboxRetentionDays }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${RETENTION_EVERY_MINUTES} minutes` },
    state: {
      note: `Deletes delivery log rows and refusal counts older than ${deliveryLogRetentionDays} days (failed deliveries: ${FAILED_DELIVERY_RETENTION_FACTOR * deliveryLogRetentionDays}; never processing or unprocessed ones) and outbox events older than ${outboxRetentionDays} days.`,
    },
  };
}

/**
 * Whether the worker keeps the personal token connection's schedules: while CALENDLY_API_TOKEN is set and its row is
 * of that kind. Once OAuth took the row over, its set-up and teardown keep them as any OAuth connection's, so that a
 * restart does not bring back the schedules of one disconnected since. A row that cannot be read counts as the token's.
 */
export async function personalTokenKeepsSchedules(orm: MikroORM, apiTokenSet: boolean): Promise<boolean> {
  if (!apiTokenSet) return false;
  const connection = await findConnection(orm.em.fork(), PERSONAL_TOKEN_CONNECTION_ID).catch(() => undefined);
  return connection?.kind !== 'oauth';
}

export interface EnsuredSchedule {
  scheduleId: string;
  outcome: 'created' | 'updated';
}

export async function ensureSchedules(client: Client, taskQueue: string, settings: Config['schedules'], personalToken = true): Promise<EnsuredSchedule[]> {
  const ensured: EnsuredSchedule[] = [];
  for (const options of scheduleOptionsFor(taskQueue, settings, personalToken)) {
    ensured.push({ scheduleId: options.scheduleId, outcome: await createOrUpdateSchedule(client, options) });
  }
  return ensured;
}
