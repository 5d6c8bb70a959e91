/**
 * The retention schedule, end to end: the worker's pruneExpiredRecords deletes delivery log rows and refusal counts
 * older than DELIVERY_LOG_RETENTION_DAYS (30) and outbox events older than OUTBOX_RETENTION_DAYS (7), and keeps
 * younger ones and deliveries still processing. RECORD_HISTORY=1 records its history for the replay test.
 */
import { randomUUID } from 'node:crypto';
import type { RetentionSummary } from '../../src/contract';
import { ensureSchedules, scheduleIdsFor } from '../../src/worker/schedules';
import { lastScheduledRun, triggerAndWait } from '../support/schedules';
import { recordHistory } from '../support/histories';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let scheduleId: string;
beforeAll(async () => {
  system = await startTestSystem();
  const { taskQueue } = system.config.temporal;
  // The intervals are long so that only the trigger below runs them; the retention comes from the configuration.
  await ensureSchedules(system.temporal, taskQueue, { ...system.config.schedules, reconcileEveryMinutes: 60, subscriptionCheckEveryMinutes: 60 });
  scheduleId = scheduleIdsFor(taskQueue).retention;
});
afterAll(async () => {
  for (const id of Object.values(scheduleIdsFor(system.config.temporal.taskQueue))) await system.temporal.schedule.getHandle(id).delete();
  const em = system.orm.em.fork();
  await em.execute('delete from webhook_deliveries where dedup_key like ?', [`${prefix}%`]);
  await em.execute('delete from refused_requests where reason = ?', [reason]);
  await em.execute('delete from outbox_events where organization = ?', [organization]);
  await system.stop();
});

const prefix = `retention-${randomUUID()}`;
const reason = `retention_${randomUUID()}`;
const organization = `https://api.calendly.com/organizations/${prefix}`;
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

async function insertDelivery(outcome: string, receivedDaysAgo: number): Promise<string> {
  const id = randomUUID();
  await system.orm.em.fork().execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, outcome, updated_at)
     values (?, ?, 'invitee.created', ?, 'valid', ?, ?)`,
    [id, daysAgo(receivedDaysAgo), `${prefix}-${id}`, outcome, daysAgo(receivedDaysAgo)],
  );
  return id;
}

async function insertEvent(createdDaysAgo: number): Promise<string> {
  const [row] = await system.orm.em
    .fork()
    .execute<{ id: string }[]>(`insert into outbox_events (type, organization, payload, created_at) values ('lead.created', ?, '{}', ?) returning id`, [
      organization,
      daysAgo(createdDaysAgo),
    ]);
  return row.id;
}

it('deletes what is older than the retention, per table, and keeps the rest', async () => {
  const deliveries = {
    processed40: await insertDelivery('processed', 40),
    processed20: await insertDelivery('processed', 20),
    processing40: await insertDelivery('processing', 40),
    unprocessed40: await insertDelivery('unprocessed', 40),
    failed40: await insertDelivery('failed', 40),
    failed100: await insertDelivery('failed', 100),
  };
  for (const days of [40, 20]) {
    await system.orm.em
      .fork()
      .execute('insert into refused_requests (minute, reason, count) values (date_trunc(\'minute\', ?::timestamptz), ?, 1)', [daysAgo(days), reason]);
  }
  const events = { days10: await insertEvent(10), days5: await insertEvent(5), now: await insertEvent(0) };

  const deleted = await triggerAndWait<RetentionSummary>(system.temporal, scheduleId);
  expect(deleted.deliveries).toBeGreaterThanOrEqual(2);
  expect(deleted.refusals).toBeGreaterThanOrEqual(1);
  expect(deleted.outboxEvents).toBeGreaterThanOrEqual(1);

  const em = system.orm.em.fork();
  const keptDeliveries = (await em.execute<{ id: string }[]>('select id from webhook_deliveries where dedup_key like ?', [`${prefix}%`])).map(({ id }) => id);
  expect(keptDeliveries.sort()).toEqual([deliveries.processed20, deliveries.processing40, deliveries.unprocessed40, deliveries.failed40].sort());
  const keptRefusals = await em.execute<{ minute: Date }[]>('select minute from refused_requests where reason = ?', [reason]);
  expect(keptRefusals).toHaveLength(1);
  expect(new Date(keptRefusals[0].minute).getTime()).toBeGreaterThan(daysAgo(21).getTime());
  const keptEvents = (await em.execute<{ id: string }[]>('select id from outbox_events where organization = ? order by id', [organization])).map(({ id }) => id);
  expect(keptEvents).toEqual([events.days5, events.now]);

  const { workflowId, firstExecutionRunId } = await lastScheduledRun(system.temporal, scheduleId);
  await recordHistory(system.temporal, 'retention-pruned.json', workflowId, firstExecutionRunId);
});
