/** The self-healing schedules a worker creates at start-up, and brings up to date on the next start. */
import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { ensureSchedules, scheduleIdsFor, scheduleOptionsFor } from '../../src/worker/schedules';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { harness } from '../support/harness';

let connection: Connection;
let client: Client;
const taskQueue = `test-schedules-${randomUUID()}`;
const ids = scheduleIdsFor(taskQueue);

beforeAll(async () => {
  connection = await Connection.connect({ address: harness().temporalAddress });
  client = new Client({ connection, namespace: harness().namespace });
});
afterAll(async () => {
  for (const id of Object.values(ids)) await client.schedule.getHandle(id).delete().catch(() => undefined);
  await connection.close();
});

const settings = {
  reconcileEveryMinutes: 15,
  reconcileLookBackHours: 48,
  reconcileLookAheadDays: 60,
  subscriptionCheckEveryMinutes: 10,
  deliveryLogRetentionDays: 30,
  outboxRetentionDays: 7,
};

it('has a retention schedule that runs pruneExpiredRecords hourly with the configured retention', () => {
  const retention = scheduleOptionsFor(taskQueue, settings).find(({ scheduleId }) => scheduleId === `${taskQueue}-retention`);
  expect(retention).toMatchObject({
    spec: { intervals: [{ every: '60 minutes' }] },
    action: { type: 'startWorkflow', workflowId: ids.retention, taskQueue, args: [{ deliveryLogRetentionDays: 30, outboxRetentionDays: 7 }] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
  });
  expect((retention?.action as { workflowType: { name: string } }).workflowType.name).toBe('pruneExpiredRecords');
});

it('creates the reconcile, subscription check and retention schedules, then updates them (keeping a pause) on the next start', async () => {
  expect(await ensureSchedules(client, taskQueue, settings)).toEqual([
    { scheduleId: `${taskQueue}-reconcile-bookings`, outcome: 'created' },
    { scheduleId: `${taskQueue}-subscription-check`, outcome: 'created' },
    { scheduleId: `${taskQueue}-retention`, outcome: 'created' },
  ]);
  const reconcile = await client.schedule.getHandle(ids.reconcile).describe();
  expect(reconcile.spec.intervals).toEqual([expect.objectContaining({ every: 15 * 60_000 })]);
  expect(reconcile.action).toMatchObject({ workflowType: 'reconcileBookings', taskQueue, args: [{ lookBackHours: 48, lookAheadDays: 60, connectionId: PERSONAL_TOKEN_CONNECTION_ID }] });
  expect(reconcile.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(reconcile.state.note).toContain('from 48 h ago to 60 days ahead');
  const check = await client.schedule.getHandle(ids.subscriptionCheck).describe();
  expect(check.spec.intervals).toEqual([expect.objectContaining({ every: 10 * 60_000 })]);
  expect(check.action).toMatchObject({ workflowType: 'checkWebhookSubscription', taskQueue, args: [{ connectionId: PERSONAL_TOKEN_CONNECTION_ID }] });
  const retention = await client.schedule.getHandle(ids.retention).describe();
  expect(retention.spec.intervals).toEqual([expect.objectContaining({ every: 60 * 60_000 })]);
  expect(retention.action).toMatchObject({ workflowType: 'pruneExpiredRecords', taskQueue, args: [{ deliveryLogRetentionDays: 30, outboxRetentionDays: 7 }] });
  expect(retention.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(retention.state.note).toContain('older than 30 days (failed deliveries: 90;');

  await client.schedule.getHandle(ids.subscriptionCheck).pause('paused by ops while Calendly is down');
  const changed = { ...settings, reconcileEveryMinutes: 5, reconcileLookBackHours: 72, deliveryLogRetentionDays: 14, outboxRetentionDays: 3 };
  expect(await ensureSchedules(client, taskQueue, changed)).toEqual([
    { scheduleId: ids.reconcile, outcome: 'updated' },
    { scheduleId: ids.subscriptionCheck, outcome: 'updated' },
    { scheduleId: ids.retention, outcome: 'updated' },
  ]);
  const updated = await client.schedule.getHandle(ids.reconcile).describe();
  expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 5 * 60_000 })]);
  expect(updated.action).toMatchObject({ args: [{ lookBackHours: 72, lookAheadDays: 60, connectionId: PERSONAL_TOKEN_CONNECTION_ID }] });
  expect((await client.schedule.getHandle(ids.subscriptionCheck).describe()).state).toMatchObject({ paused: true, note: 'paused by ops while Calendly is down' });
  expect((await client.schedule.getHandle(ids.retention).describe()).action).toMatchObject({ args: [{ deliveryLogRetentionDays: 14, outboxRetentionDays: 3 }] });
});
