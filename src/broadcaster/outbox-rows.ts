/** Reads outbox rows, in id order, as events ready to send. */
import type { EventType } from '../database/entities/outbox-event';
import type { BroadcastEvent, EventData, EventMessage } from './protocol';

export type Query = <Row>(sql: string, params?: unknown[]) => Promise<Row[]>;

export interface EventRange {
  /** exclusive */
  after: bigint;
  /** inclusive; unbounded when absent */
  through?: bigint;
  /** only this organization's events */
  organization?: string;
  limit: number;
}

interface OutboxRow {
  id: string;
  type: EventType;
  organization: string | null;
  /** written by src/database in the shape EventData gives for its type */
  payload: EventData[EventType];
  created_at: Date;
}

export async function readEvents(query: Query, range: EventRange): Promise<BroadcastEvent[]> {
  const rows = await query<OutboxRow>(
    `select id, type, organization, payload, created_at from outbox_events
     where id > $1 and ($2::bigint is null or id <= $2) and ($3::text is null or organization = $3)
     order by id limit $4`,
    [range.after.toString(), range.through?.toString() ?? null, range.organization ?? null, range.limit],
  );
  return rows.map(toBroadcastEvent);
}

export async function newestEventId(query: Query): Promise<bigint> {
  const [row] = await query<{ id: string }>('select coalesce(max(id), 0) as id from outbox_events');
  return BigInt(row.id);
}

function toBroadcastEvent(row: OutboxRow): BroadcastEvent {
  const message = {
    id: row.id,
    type: row.type,
    occurredAt: row.created_at.toISOString(),
    organization: row.organization,
    data: row.payload,
  } as EventMessage;
  return { id: BigInt(row.id), organization: row.organization, message: JSON.stringify(message), createdAt: row.created_at };
}
