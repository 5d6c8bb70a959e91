/** Appends to the outbox (see entities/outbox-event.ts). Call it inside the transaction that makes the change. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import type { EventType } from './entities/outbox-event';
import { OUTBOUND_DELIVERIES_OF_EVENT } from './outbound-webhooks';

export const OUTBOX_CHANNEL = 'outbox_events';

export interface NewEvent {
  type: EventType;
  organization: string | null;
  payload: Record<string, unknown>;
}

export async function recordEvent(em: EntityManager, event: NewEvent): Promise<string> {
  // One statement, as it runs for every change: the event, its outbound webhook deliveries in the same transaction
  // (a committed event always has them), and the NOTIFY (delivered on commit only, and not at all on rollback).
  const [row] = await em.execute<{ id: string }[]>(
    `with event as (
       insert into outbox_events (type, organization, payload) values (?, ?, ?::jsonb) returning id, type, organization
     ), deliveries as (
       ${OUTBOUND_DELIVERIES_OF_EVENT}
     ), notified as (
       select pg_notify(?, event.id::text) from event
     )
     select event.id from event, notified`,
    [event.type, event.organization, JSON.stringify(event.payload), `${event.type.split('.')[0]}.*`, OUTBOX_CHANNEL],
  );
  return row.id;
}

/**
 * Retention: deletes at most `limit` events created before `before`, oldest first, and says how many it deleted.
 * The newest event is always kept, so that a broadcaster starting after a quiet spell still finds the newest id
 * (src/broadcaster/outbox-rows.ts, newestEventId) and the ids clients hold stay meaningful. A client resuming from
 * an id whose events were deleted receives the events still kept after it (README, "Websocket protocol").
 */
export async function deleteEventsBefore(em: EntityManager, before: Date, limit: number): Promise<number> {
  const result = await em.execute<QueryResult>(
    `delete from outbox_events where id in (
       select id from outbox_events where created_at < ? and id < (select max(id) from outbox_events) order by id limit ?)`,
    [before, limit],
    'run',
  );
  return result.affectedRows;
}
