/** Appends to the outbox (see entities/outbox-event.ts). Call it inside the transaction that makes the change. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventType } from './entities/outbox-event';

export const OUTBOX_CHANNEL = 'outbox_events';

export interface NewEvent {
  type: EventType;
  organization: string | null;
  payload: Record<string, unknown>;
}

export async function recordEvent(em: EntityManager, event: NewEvent): Promise<string> {
  const [row] = await em.execute<{ id: string }[]>(
    `insert into outbox_events (type, organization, payload) values (?, ?, ?::jsonb) returning id`,
    [event.type, event.organization, JSON.stringify(event.payload)],
  );
  // NOTIFY inside a transaction is delivered on commit only, and not at all on rollback.
  await em.execute(`select pg_notify(?, ?)`, [OUTBOX_CHANNEL, row.id]);
  return row.id;
}
