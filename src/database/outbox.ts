/** Appends to the outbox (see entities/outbox-event.ts). Call it inside the transaction that makes the change. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import type { EventType } from './entities/outbox-event';
import { OUTBOUND_DELIVERIES_OF_EVENT } from './outbound-webhooks';
import { bigintText, queryRows, rowShape } from './rows';

export const OUTBOX_CHANNEL = 'outbox_events';

const eventIdRow = rowShape({ id: bigintText });

export interface NewEvent {
  type: EventType;
  organization: string | null;
  payload: Record<string, unknown>;
}

export async function recordEvent(em: EntityManager, event: NewEvent): Promise<string> {
  const [id] = await recordEvents(em, [event]);
  return id;
}

/** Appends the events in their order (ids increase along the array); returns their ids. */
export async function recordEvents(em: EntityManager, events: NewEvent[]): Promise<string[]> {
  // One statement, as it runs for every change: the events, their outbound webhook deliveries in the same transaction
  // (a committed event always has them), and the NOTIFY (delivered on commit only, and not at all on rollback).
  const rows = await queryRows(
    em,
    eventIdRow,
    `with given as (
       select item->>'type' as type, item->>'organization' as organization, item->'payload' as payload, position
       from jsonb_array_elements(?::jsonb) with ordinality as given(item, position)
     ), event as (
       insert into outbox_events (type, organization, payload) select type, organization, payload from given order by position
       returning id, type, organization
     ), deliveries as (
       ${OUTBOUND_DELIVERIES_OF_EVENT}
     ), notified as (
       select event.id, pg_notify(?, event.id::text) from event
     )
     select id from notified order by id`,
    [JSON.stringify(events), OUTBOX_CHANNEL],
  );
  return rows.map((row) => row.id);
}

/**
 * Retention: deletes at most `limit` events created before `before`, oldest first, and says how many it deleted.
 * The newest event is always kept, so that a broadcaster starting after a quiet spell still finds the newest id
 * (src/broadcaster/outbox-rows.ts, newestEventId) and the ids clients hold stay meaningful. A client resuming from
 * an id whose events were deleted receives the events still kept after it (docs/websocket.md).
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
