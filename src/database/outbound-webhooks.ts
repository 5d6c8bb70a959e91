/**
 * Outbound event webhooks: the endpoints an organization subscribed to its outbox events (`outbound_endpoints`), and
 * one delivery per endpoint and event (`outbound_deliveries`: pending, then delivered or dead). Deliveries are
 * inserted by recordEvent in the transaction of the event itself, so no event is missed whatever restarts.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import { EVENT_TYPES, type EventType } from './entities/outbox-event';
import { bigintText, boolean, integer, jsonObject, nullable, oneOf, queryRow, queryRows, rowShape, text, textArray, timestamp, type RowShape } from './rows';

/** What an endpoint may subscribe to: an event type, or every type of a kind (`meeting.*`). */
export const OUTBOUND_EVENT_FILTERS = [...new Set(EVENT_TYPES.map((type) => `${type.split('.')[0]}.*`)), ...EVENT_TYPES] as const;

const OUTBOUND_DELIVERY_STATES = ['pending', 'delivered', 'dead'] as const;
export type OutboundDeliveryState = (typeof OUTBOUND_DELIVERY_STATES)[number];

export interface OutboundEndpoint {
  id: string;
  organization: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  createdAt: Date;
  disabledAt: Date | null;
}

export interface OutboundDelivery {
  id: string;
  endpointId: string;
  outboxEventId: string;
  eventType: EventType;
  organization: string;
  state: OutboundDeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
}

/** What an endpoint's sealed secret is bound to (the box's associated data): a copy in another row does not open. */
export const outboundSecretPlace = (endpointId: string) => `outbound_endpoints.secret:${endpointId}`;

/** A pending delivery with what it takes to send it: the endpoint and the event as the websocket sends it. */
export interface OutboundDeliveryToSend {
  id: string;
  state: OutboundDeliveryState;
  endpointId: string;
  url: string;
  /** sealed (src/connections/secret-box.ts), or in clear when it was stored before secrets were sealed */
  secret: string;
  endpointEnabled: boolean;
  event: { id: string; type: EventType; occurredAt: string; organization: string; data: Record<string, unknown> };
}

const endpointRow: RowShape<OutboundEndpoint> = rowShape({
  id: text,
  organization: text,
  url: text,
  eventTypes: textArray,
  enabled: boolean,
  createdAt: timestamp,
  disabledAt: nullable(timestamp),
});

const deliveryRow: RowShape<OutboundDelivery> = rowShape({
  id: text,
  endpointId: text,
  outboxEventId: bigintText,
  eventType: oneOf(EVENT_TYPES),
  organization: text,
  state: oneOf(OUTBOUND_DELIVERY_STATES),
  attempts: integer,
  lastStatus: nullable(integer),
  lastError: nullable(text),
  createdAt: timestamp,
  deliveredAt: nullable(timestamp),
  deadAt: nullable(timestamp),
});

/** A delivery joined with its endpoint (`p`) and its event (`e`). */
const deliveryToSendRow = rowShape({
  id: text,
  state: oneOf(OUTBOUND_DELIVERY_STATES),
  endpointId: text,
  url: text,
  secret: text,
  enabled: boolean,
  eventId: bigintText,
  type: oneOf(EVENT_TYPES),
  createdAt: timestamp,
  organization: text,
  payload: jsonObject,
});
/** A delivery (`d`) with whether its endpoint (`p`) is enabled. */
const revivableRow = rowShape({ state: oneOf(OUTBOUND_DELIVERY_STATES), enabled: boolean, organization: text });
const idRow = rowShape({ id: text });
const endpointIdRow = rowShape({ endpointId: text });
const organizationRow = rowShape({ organization: text });
const countRow = rowShape({ n: integer });
const attemptsRow = rowShape({ attempts: integer });

/**
 * The outbound deliveries of a new outbox event, for recordEvent's statement: one per enabled endpoint of the event's
 * organization subscribed to its type or its family (`meeting.*`). Reads the CTE `event` (id, type, organization).
 * An event without an organization goes nowhere.
 */
export const OUTBOUND_DELIVERIES_OF_EVENT = `insert into outbound_deliveries (endpoint_id, outbox_event_id, event_type, organization)
       select endpoint.id, event.id, event.type, endpoint.organization from outbound_endpoints endpoint join event on endpoint.organization = event.organization
       where endpoint.enabled and (event.type = any(endpoint.event_types) or split_part(event.type, '.', 1) || '.*' = any(endpoint.event_types))
       on conflict (endpoint_id, outbox_event_id) do nothing`;

/**
 * A new endpoint, unless its organization has `maxPerOrganization` enabled endpoints already (undefined then). The
 * organization's advisory lock makes the count and the insert one step, so two requests at once cannot both pass.
 */
export async function createOutboundEndpoint(
  em: EntityManager,
  endpoint: { id: string; organization: string; url: string; secret: string; eventTypes: readonly string[] },
  maxPerOrganization: number,
): Promise<OutboundEndpoint | undefined> {
  return em.transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtext('outbound_endpoints:' || ?))`, [endpoint.organization]);
    return queryRow(
      tx,
      endpointRow,
      `insert into outbound_endpoints (id, organization, url, secret, event_types)
       select ?, ?, ?, ?, ?::text[] where (select count(*) from outbound_endpoints where organization = ? and enabled) < ?
       returning ${endpointRow.columns}`,
      [endpoint.id, endpoint.organization, endpoint.url, endpoint.secret, `{${endpoint.eventTypes.join(',')}}`, endpoint.organization, maxPerOrganization],
    );
  });
}

/** Enabled endpoints, newest first; of one organization when it is given. */
export async function listOutboundEndpoints(em: EntityManager, organization?: string): Promise<OutboundEndpoint[]> {
  return queryRows(
    em,
    endpointRow,
    `select ${endpointRow.columns} from outbound_endpoints where enabled and (?::text is null or organization = ?) order by created_at desc, id`,
    [organization ?? null, organization ?? null],
  );
}

/**
 * Disables an endpoint (its deliveries stay visible); false when there is no such enabled endpoint, or it belongs
 * to another organization than the one given.
 */
export async function disableOutboundEndpoint(em: EntityManager, id: string, organization?: string): Promise<boolean> {
  const result = await em.execute<QueryResult>(
    `update outbound_endpoints set enabled = false, disabled_at = now() where id = ? and enabled and (?::text is null or organization = ?)`,
    [id, organization ?? null, organization ?? null],
    'run',
  );
  return result.affectedRows > 0;
}

/** Deliveries newest first, by state and organization when given. */
export async function listOutboundDeliveries(
  em: EntityManager,
  filter: { state?: OutboundDeliveryState; organization?: string; limit: number; offset: number },
): Promise<[OutboundDelivery[], number]> {
  const where = `(?::text is null or state = ?) and (?::text is null or organization = ?)`;
  const params = [filter.state ?? null, filter.state ?? null, filter.organization ?? null, filter.organization ?? null];
  const rows = await queryRows(
    em,
    deliveryRow,
    `select ${deliveryRow.columns} from outbound_deliveries where ${where} order by created_at desc, id limit ? offset ?`,
    [...params, filter.limit, filter.offset],
  );
  const [{ n }] = await queryRows(em, countRow, `select count(*) as n from outbound_deliveries where ${where}`, params);
  return [rows, n];
}

export async function outboundDeliveryToSend(em: EntityManager, id: string): Promise<OutboundDeliveryToSend | null> {
  const row = await queryRow(
    em,
    deliveryToSendRow,
    `select d.id, d.state, d.endpoint_id, p.url, p.secret, p.enabled, e.id as event_id, e.type, e.created_at, d.organization, e.payload
     from outbound_deliveries d join outbound_endpoints p on p.id = d.endpoint_id join outbox_events e on e.id = d.outbox_event_id
     where d.id = ?`,
    [id],
  );
  if (!row) return null;
  return {
    id: row.id,
    state: row.state,
    endpointId: row.endpointId,
    url: row.url,
    secret: row.secret,
    endpointEnabled: row.enabled,
    event: { id: row.eventId, type: row.type, occurredAt: row.createdAt.toISOString(), organization: row.organization, data: row.payload },
  };
}

/** An endpoint's secret stored before secrets were sealed, replaced by its sealed form (unless changed meanwhile). */
export async function sealOutboundEndpointSecret(em: EntityManager, endpointId: string, clear: string, sealed: string): Promise<void> {
  await em.execute(`update outbound_endpoints set secret = ? where id = ? and secret = ?`, [sealed, endpointId, clear], 'run');
}

/** One attempt's answer (an HTTP status) or failure (a short reason without personal data), counted: the attempts so far. */
export async function recordOutboundAttempt(em: EntityManager, id: string, outcome: { status: number | null; error: string | null }): Promise<number> {
  const row = await queryRow(
    em,
    attemptsRow,
    `update outbound_deliveries set attempts = attempts + 1, last_status = ?, last_error = ? where id = ? and state = 'pending' returning attempts`,
    [outcome.status, outcome.error, id],
  );
  return row?.attempts ?? 0;
}

/**
 * NOTIFYed when a delivery settles (delivered or dead: its organization may have room for another endpoint at work)
 * and when a dead one is replayed: either wakes the dispatcher.
 */
export const OUTBOUND_SETTLED_CHANNEL = 'outbound_delivery_settled';

export async function markOutboundDeliveryDelivered(em: EntityManager, id: string): Promise<void> {
  await em.execute(
    `with settled as (update outbound_deliveries set state = 'delivered', delivered_at = now() where id = ? and state = 'pending' returning id)
     select pg_notify(?, '') from settled`,
    [id, OUTBOUND_SETTLED_CHANNEL],
  );
}

/**
 * The final failure; `reason` replaces the last error when given (e.g. the endpoint was removed). The delivery's
 * organization when it was pending until now, else null.
 */
export async function markOutboundDeliveryDead(em: EntityManager, id: string, reason?: string): Promise<string | null> {
  const row = await queryRow(
    em,
    organizationRow,
    `with settled as (
       update outbound_deliveries set state = 'dead', dead_at = now(), last_error = coalesce(?, last_error) where id = ? and state = 'pending'
       returning organization)
     select organization, pg_notify(?, '') from settled`,
    [reason ?? null, id, OUTBOUND_SETTLED_CHANNEL],
  );
  return row?.organization ?? null;
}

/** An endpoint with deliveries its workflow was not told of: their ids (oldest first, at most 1000 at a time). */
export interface EndpointToWake {
  endpointId: string;
  organization: string;
  deliveryIds: string[];
}
const endpointToWakeRow = rowShape({ endpointId: text, organization: text, deliveryIds: textArray, atWork: boolean });

/**
 * Endpoints with pending deliveries not dispatched yet (its workflow not told of them), oldest first. An endpoint
 * whose workflow is at work (it has dispatched deliveries pending) is left out: it sends every pending delivery of its
 * endpoint before it ends, these included; with `stale`, one left out that long is included (its workflow may have
 * been terminated). Of each organization only as many endpoints as may be at work at once
 * (`maxInFlightPerOrganization`, counted in the database: across all workers), so that one organization's slow or dead
 * endpoints hold at most that many of the workers' activity slots.
 */
export async function outboundEndpointsToWake(
  em: EntityManager,
  limit: number,
  maxInFlightPerOrganization: number,
  staleSeconds: number | null,
): Promise<(EndpointToWake & { atWork: boolean })[]> {
  const rows = await queryRows(
    em,
    endpointToWakeRow,
    `with waiting as (
       select endpoint_id, organization, min(created_at) as since, (array_agg(id::text order by created_at, outbox_event_id))[1:1000] as delivery_ids
       from outbound_deliveries where state = 'pending' and dispatched_at is null group by endpoint_id, organization),
     at_work as (select distinct endpoint_id, organization from outbound_deliveries where state = 'pending' and dispatched_at is not null),
     at_work_count as (select organization, count(*) as n from at_work group by organization),
     ranked as (
       select waiting.*, at_work.endpoint_id is not null as at_work,
              row_number() over (partition by waiting.organization, at_work.endpoint_id is null order by since) as rank
       from waiting left join at_work using (endpoint_id, organization))
     select endpoint_id, organization, delivery_ids, at_work from ranked left join at_work_count using (organization)
     where case when at_work then since < now() - make_interval(secs => ?) else rank <= ? - coalesce(at_work_count.n, 0) end
     order by since limit ?`,
    [staleSeconds ?? 1e9, maxInFlightPerOrganization, limit],
  );
  return rows;
}

export async function markOutboundDeliveriesDispatched(em: EntityManager, ids: string[]): Promise<void> {
  await em.execute(`update outbound_deliveries set dispatched_at = now() where id = any(?::uuid[]) and dispatched_at is null`, [`{${ids.join(',')}}`], 'run');
}

/** The endpoint's oldest pending delivery: the next one its workflow sends (the events of one transaction in their order). */
export async function nextPendingOutboundDelivery(em: EntityManager, endpointId: string): Promise<string | null> {
  const row = await queryRow(
    em,
    idRow,
    `select id from outbound_deliveries where endpoint_id = ? and state = 'pending' order by created_at, outbox_event_id limit 1`,
    [endpointId],
  );
  return row?.id ?? null;
}

/**
 * A dead delivery back to pending, its attempts from zero and not yet dispatched; of the given organization only, and
 * only while its endpoint is enabled. What it was before, when that was not a replayable dead delivery: `missing`
 * (none, or another organization's), `endpoint_disabled`, or its state.
 */
export async function reviveDeadOutboundDelivery(
  em: EntityManager,
  id: string,
  organization?: string,
): Promise<{ revived: true; organization: string; endpointId: string } | { revived: false; reason: 'missing' | 'endpoint_disabled' | 'pending' | 'delivered' }> {
  const row = await queryRow(
    em,
    revivableRow,
    `select d.state, p.enabled, d.organization from outbound_deliveries d join outbound_endpoints p on p.id = d.endpoint_id
     where d.id = ? and (?::text is null or d.organization = ?)`,
    [id, organization ?? null, organization ?? null],
  );
  if (!row) return { revived: false, reason: 'missing' };
  if (!row.enabled) return { revived: false, reason: 'endpoint_disabled' };
  if (row.state !== 'dead') return { revived: false, reason: row.state };
  const revived = await queryRows(
    em,
    endpointIdRow,
    `with revived as (
       update outbound_deliveries set state = 'pending', attempts = 0, last_status = null, last_error = null, dead_at = null, dispatched_at = null
       where id = ? and state = 'dead' and (?::text is null or organization = ?)
       returning endpoint_id)
     select endpoint_id, pg_notify(?, '') from revived`,
    [id, organization ?? null, organization ?? null, OUTBOUND_SETTLED_CHANNEL],
  );
  return revived.length ? { revived: true, organization: row.organization, endpointId: revived[0].endpointId } : { revived: false, reason: 'pending' };
}
