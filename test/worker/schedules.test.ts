/** The self-healing schedules a worker creates at start-up, and brings up to date on the next start. */
import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { ensureSchedules, scheduleIdsFor } from '../../src/worker/schedules';
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

const settings = { reconcileEveryMinutes: 15, reconcileLookBackHours: 48, reconcileLookAheadDays: 60, subscriptionCheckEveryMinutes: 10 };

it('creates the reconcile and subscription check schedules, then updates them (keeping a pause) on the next start', async () => {
  expect(await ensureSchedules(client, taskQueue, settings)).toEqual([
    { scheduleId: `${taskQueue}-reconcile-bookings`, outcome: 'created' },
    { scheduleId: `${taskQueue}-subscription-check`, outcome: 'created' },
  ]);
  const reconcile = await client.schedule.getHandle(ids.reconcile).describe();
  expect(reconcile.spec.intervals).toEqual([expect.objectContaining({ every: 15 * 60_000 })]);
  expect(reconcile.action).toMatchObject({ workflowType: 'reconcileBookings', taskQueue, args: [{ lookBackHours: 48, lookAheadDays: 60 }] });
  expect(reconcile.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(reconcile.state.note).toContain('from 48 h ago to 60 days ahead');
  const check = await client.schedule.getHandle(ids.subscriptionCheck).describe();
  expect(check.spec.intervals).toEqual([expect.objectContaining({ every: 10 * 60_000 })]);
  expect(check.action).toMatchObject({ workflowType: 'checkWebhookSubscription', taskQueue, args: [] });

  await client.schedule.getHandle(ids.subscriptionCheck).pause('paused by ops while Calendly is down');
  expect(await ensureSchedules(client, taskQueue, { ...settings, reconcileEveryMinutes: 5, reconcileLookBackHours: 72 })).toEqual([
    { scheduleId: ids.reconcile, outcome: 'updated' },
    { scheduleId: ids.subscriptionCheck, outcome: 'updated' },
  ]);
  const updated = await client.schedule.getHandle(ids.reconcile).describe();
  expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 5 * 60_000 })]);
  expect(updated.action).toMatchObject({ args: [{ lookBackHours: 72, lookAheadDays: 60 }] });
  expect((await client.schedule.getHandle(ids.subscriptionCheck).describe()).state).toMatchObject({ paused: true, note: 'paused by ops while Calendly is down' });
});
