/**
 * src/database/deliveries.ts: the webhook delivery log. It is not kept per organization (a delivery is logged
 * before its organization is known), which is why the dashboard shows it only to a token bound to none.
 */
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { InviteeDelivery } from '../../src/contract';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import {
  keepUnprocessedDelivery,
  markReplayed,
  recentDeliveries,
  recordAcceptedDelivery,
  recordDeliveryOutcome,
  replayableDeliveries,
  unprocessedDeliveries,
} from '../../src/database/deliveries';
import { openOrm } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

const row = (id: string) => orm.em.fork().findOneOrFail(WebhookDeliverySchema, { id });

function accepted(source: InviteeDelivery['source'] = 'webhook'): InviteeDelivery {
  const deliveryId = randomUUID();
  const eventUri = `https://api.calendly.com/scheduled_events/${deliveryId}`;
  return {
    deliveryId,
    dedupKey: `invitee.created:${deliveryId}`,
    eventName: 'invitee.created',
    format: 'current',
    scheduledEventUri: eventUri,
    inviteeUri: `${eventUri}/invitees/${deliveryId}`,
    inviteeEmail: 'ann@example.com',
    occurredAt: null,
    receivedAt: new Date().toISOString(),
    connectionId: PERSONAL_TOKEN_CONNECTION_ID,
    source,
  };
}

function unprocessed(receivedAt: Date) {
  const deliveryId = randomUUID();
  return {
    deliveryId,
    receivedAt: receivedAt.toISOString(),
    eventName: 'event_type.created',
    dedupKey: `unprocessed:${deliveryId}`,
    reason: 'event type event_type.created is not handled yet',
    rawBody: '{"event":"event_type.created"}',
    connectionId: PERSONAL_TOKEN_CONNECTION_ID,
  };
}

it('logs an accepted delivery once, then its outcome', async () => {
  const delivery = accepted();
  await recordAcceptedDelivery(orm.em.fork(), delivery, 'workflow-1');
  await recordAcceptedDelivery(orm.em.fork(), { ...delivery, deliveryId: randomUUID() }, 'workflow-2');
  expect(await orm.em.fork().find(WebhookDeliverySchema, { dedupKey: delivery.dedupKey })).toEqual([
    expect.objectContaining({ id: delivery.deliveryId, outcome: 'processing', signature: 'valid', workflowId: 'workflow-1', detail: null }),
  ]);
  // What the row held before tells the worker a new end (counted in a metric) from a retried call (not counted again).
  // Its organization is that of its connection's row, if another test of this database made one.
  const [connection] = await orm.em.fork().getConnection().execute<{ organization: string | null }[]>(
    'select organization from calendly_connections where id = ?',
    [PERSONAL_TOKEN_CONNECTION_ID],
  );
  const organization = connection?.organization ?? null;
  expect(await recordDeliveryOutcome(orm.em.fork(), delivery.dedupKey, 'failed', 'the event was deleted')).toEqual({ previousOutcome: 'processing', organization });
  expect(await recordDeliveryOutcome(orm.em.fork(), delivery.dedupKey, 'failed', 'the event was deleted')).toEqual({ previousOutcome: 'failed', organization });
  expect(await row(delivery.deliveryId)).toMatchObject({ outcome: 'failed', detail: 'the event was deleted' });
  expect(await recordDeliveryOutcome(orm.em.fork(), 'no-such-dedup-key', 'failed', null)).toBeUndefined();

  const backfill = accepted('backfill');
  await recordAcceptedDelivery(orm.em.fork(), backfill, 'workflow-3');
  await recordDeliveryOutcome(orm.em.fork(), backfill.dedupKey, 'processed', null);
  expect(await row(backfill.deliveryId)).toMatchObject({ outcome: 'processed', signature: 'unchecked', detail: 'backfilled from the Calendly API' });
});

it('moves a failed delivery back to processing when it is fed again, keeping what it was about', async () => {
  const delivery = { ...accepted(), occurredAt: '2031-01-01T10:00:00.123456Z' };
  await recordAcceptedDelivery(orm.em.fork(), delivery, 'workflow-1');
  expect(await row(delivery.deliveryId)).toMatchObject({
    scheduledEventUri: delivery.scheduledEventUri,
    inviteeUri: delivery.inviteeUri,
    occurredAt: '2031-01-01T10:00:00.123456Z',
  });
  await recordDeliveryOutcome(orm.em.fork(), delivery.dedupKey, 'failed', 'Calendly rejected the API token (401)');
  expect((await replayableDeliveries(orm.em.fork(), [delivery.deliveryId])).map(({ id }) => id)).toEqual([]);
  expect((await replayableDeliveries(orm.em.fork(), [delivery.deliveryId], { failed: true })).map(({ id }) => id)).toEqual([delivery.deliveryId]);

  // A redelivery (or the backfill, or a replay) of the same change: a new delivery id, the same dedup key.
  await recordAcceptedDelivery(orm.em.fork(), { ...accepted('backfill'), dedupKey: delivery.dedupKey }, 'workflow-2');
  expect(await orm.em.fork().find(WebhookDeliverySchema, { dedupKey: delivery.dedupKey })).toEqual([
    expect.objectContaining({
      id: delivery.deliveryId,
      outcome: 'processing',
      workflowId: 'workflow-2',
      detail: 'backfilled after: Calendly rejected the API token (401)',
    }),
  ]);
  await recordDeliveryOutcome(orm.em.fork(), delivery.dedupKey, 'processed', null);
  expect(await row(delivery.deliveryId)).toMatchObject({ outcome: 'processed' });

  // A processed one is left as it is.
  await recordAcceptedDelivery(orm.em.fork(), { ...accepted(), dedupKey: delivery.dedupKey }, 'workflow-3');
  expect(await row(delivery.deliveryId)).toMatchObject({ outcome: 'processed', workflowId: 'workflow-2' });
});

it('keeps even an unprocessed body with a NUL character, which PostgreSQL refuses in text', async () => {
  const delivery = { ...unprocessed(new Date()), rawBody: '{"event":"x\u0000"}', eventName: 'x\u0000' };
  await keepUnprocessedDelivery(orm.em.fork(), delivery, 'workflow-nul');
  expect(await row(delivery.deliveryId)).toMatchObject({ outcome: 'unprocessed', rawBody: '{"event":"x\uFFFD"}', eventType: 'x\uFFFD' });
});

it('keeps unprocessed deliveries for replay, oldest first, and marks them replayed', async () => {
  const older = unprocessed(new Date(Date.now() - 60_000));
  const newer = unprocessed(new Date());
  const other = unprocessed(new Date());
  for (const delivery of [newer, older, other]) await keepUnprocessedDelivery(orm.em.fork(), delivery, `workflow-${delivery.deliveryId}`);
  await keepUnprocessedDelivery(orm.em.fork(), { ...older, reason: 'again' }, 'workflow-again');

  const asked = await unprocessedDeliveries(orm.em.fork(), [newer.deliveryId, older.deliveryId]);
  expect(asked.map(({ id, rawBody, detail }) => ({ id, rawBody, detail }))).toEqual([
    { id: older.deliveryId, rawBody: older.rawBody, detail: older.reason },
    { id: newer.deliveryId, rawBody: newer.rawBody, detail: newer.reason },
  ]);
  expect((await unprocessedDeliveries(orm.em.fork(), [])).map(({ id }) => id)).toEqual(expect.arrayContaining([older.deliveryId, newer.deliveryId, other.deliveryId]));

  await markReplayed(orm.em.fork(), older.deliveryId, 'replayed as workflow-x');
  expect(await row(older.deliveryId)).toMatchObject({ outcome: 'replayed', detail: 'replayed as workflow-x' });
  expect((await unprocessedDeliveries(orm.em.fork(), [older.deliveryId, newer.deliveryId])).map(({ id }) => id)).toEqual([newer.deliveryId]);
});

it('lists the latest deliveries, newest first, up to the limit', async () => {
  const ids: string[] = [];
  // Received in the far future, so that they are the latest whatever other tests logged.
  for (const secondsBefore of [0, 1, 2]) {
    const id = randomUUID();
    ids.push(id);
    const receivedAt = new Date(Date.parse('2090-01-01T00:00:00.000Z') - secondsBefore * 1000);
    await keepUnprocessedDelivery(orm.em.fork(), { ...unprocessed(receivedAt), deliveryId: id }, 'workflow-1');
  }
  expect((await recentDeliveries(orm.em.fork(), 2)).map(({ id }) => id)).toEqual(ids.slice(0, 2));
});
