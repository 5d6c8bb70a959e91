/** The webhook delivery audit log. Every write is idempotent, so activities may retry it freely. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import type { InviteeDelivery, RoutingFormSubmissionDelivery, UnprocessedDelivery } from '../contract';
import { recordedConnectionId } from '../workflow-ids';
import { recordDeliveryReceived } from './connections';
import { pgText } from './text';
import { emailKeyOf } from '../emails';
import { formLeadOf } from './routing-form-submissions';
import { DELIVERY_OUTCOMES, WebhookDeliverySchema, type DeliveryOutcome, type WebhookDelivery } from './entities/webhook-delivery';
import { integer, nullable, oneOf, queryRow, queryRows, rowShape, text } from './rows';

/**
 * The first write for an accepted delivery. A redelivery of the same change (webhook, backfill or replay) finds the
 * row by its dedup key: one that had failed moves back to `processing` under the new workflow run, so that its new
 * outcome is recorded; any other row is kept as it is.
 * A backfill was read from the API, not signed by Calendly: its signature is `unchecked`.
 * The row keeps what the delivery was about (URIs, its time in Calendly), so a failed one can be fed again.
 */
export async function recordAcceptedDelivery(em: EntityManager, delivery: InviteeDelivery, workflowId: string): Promise<void> {
  const backfill = delivery.source === 'backfill';
  const again = { webhook: 'redelivered', backfill: 'backfilled', replay: 'replayed' }[delivery.source];
  const connectionId = recordedConnectionId(delivery.connectionId);
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, workflow_id, outcome, detail, scheduled_event_uri, invitee_uri, invitee_email_key, occurred_at, connection_id, organization)
     values (?, ?, ?, ?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?::uuid, (select organization from calendly_connections where id = ?::uuid))
     on conflict (dedup_key) do update
       set outcome = 'processing', workflow_id = excluded.workflow_id,
           detail = ? || ' after: ' || coalesce(webhook_deliveries.detail, webhook_deliveries.outcome),
           scheduled_event_uri = excluded.scheduled_event_uri, invitee_uri = excluded.invitee_uri,
           invitee_email_key = coalesce(excluded.invitee_email_key, webhook_deliveries.invitee_email_key), occurred_at = excluded.occurred_at,
           updated_at = now()
       where webhook_deliveries.outcome = 'failed' and webhook_deliveries.id <> excluded.id`,
    [
      delivery.deliveryId,
      delivery.receivedAt,
      delivery.eventName,
      delivery.dedupKey,
      backfill ? 'unchecked' : 'valid',
      workflowId,
      backfill ? 'backfilled from the Calendly API' : null,
      delivery.scheduledEventUri,
      delivery.inviteeUri,
      delivery.inviteeEmail === null ? null : emailKeyOf(delivery.inviteeEmail),
      delivery.occurredAt,
      connectionId,
      connectionId,
      again,
    ].map(pgText),
  );
  if (delivery.source === 'webhook') await recordDeliveryReceived(em, connectionId, delivery.receivedAt);
}

/**
 * The first write for an accepted routing form submission, as recordAcceptedDelivery: a failed row moves back to
 * `processing` when it is fed again. It keeps the body, from which a failed one is replayed.
 */
export async function recordAcceptedFormDelivery(em: EntityManager, delivery: RoutingFormSubmissionDelivery, workflowId: string): Promise<void> {
  const connectionId = recordedConnectionId(delivery.connectionId);
  // The person who filled the form in, so that the log's email filter finds the submission.
  const formLead = formLeadOf(delivery.submission);
  const formEmailKey = formLead ? emailKeyOf(formLead.email) : null;
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, workflow_id, outcome, raw_body, invitee_email_key, occurred_at, connection_id, organization)
     values (?, ?, 'routing_form_submission.created', ?, 'valid', ?, 'processing', ?, ?, ?, ?::uuid, (select organization from calendly_connections where id = ?::uuid))
     on conflict (dedup_key) do update
       set outcome = 'processing', workflow_id = excluded.workflow_id,
           detail = ? || ' after: ' || coalesce(webhook_deliveries.detail, webhook_deliveries.outcome), updated_at = now()
       where webhook_deliveries.outcome = 'failed' and webhook_deliveries.id <> excluded.id`,
    [
      delivery.deliveryId,
      delivery.receivedAt,
      delivery.dedupKey,
      workflowId,
      delivery.rawBody,
      formEmailKey,
      delivery.submission.created_at,
      connectionId,
      connectionId,
      delivery.source === 'webhook' ? 'redelivered' : 'replayed',
    ].map(pgText),
  );
  if (delivery.source === 'webhook') await recordDeliveryReceived(em, connectionId, delivery.receivedAt);
}

const outcomeChange = rowShape({ previousOutcome: oneOf(DELIVERY_OUTCOMES), organization: nullable(text) });

/**
 * Records how the delivery's workflow ended; what the row held before, and its organization (undefined when no row
 * has the dedup key). A retried call finds the outcome it already wrote, which tells a new end from a repeated one.
 */
export async function recordDeliveryOutcome(
  em: EntityManager,
  dedupKey: string,
  outcome: Extract<DeliveryOutcome, 'processed' | 'failed'>,
  detail: string | null,
): Promise<{ previousOutcome: DeliveryOutcome; organization: string | null } | undefined> {
  return queryRow(
    em,
    outcomeChange,
    `with previous as (select id, outcome from webhook_deliveries where dedup_key = ? for update)
     update webhook_deliveries d set outcome = ?, detail = coalesce(?, d.detail), updated_at = now()
       from previous where d.id = previous.id
       returning previous.outcome as previous_outcome, d.organization`,
    [dedupKey, outcome, pgText(detail)],
  );
}

/**
 * Keeps a signed delivery that could not be processed, raw, so that it can be replayed later. Text PostgreSQL
 * refuses (a NUL character) is replaced, so that even such a body is kept rather than retried forever.
 */
export async function keepUnprocessedDelivery(em: EntityManager, delivery: UnprocessedDelivery, workflowId: string): Promise<void> {
  const connectionId = recordedConnectionId(delivery.connectionId);
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, workflow_id, outcome, detail, raw_body, connection_id, organization)
     values (?, ?, ?, ?, 'valid', ?, 'unprocessed', ?, ?, ?::uuid, (select organization from calendly_connections where id = ?::uuid))
     on conflict do nothing`,
    [delivery.deliveryId, delivery.receivedAt, delivery.eventName, delivery.dedupKey, workflowId, delivery.reason, delivery.rawBody, connectionId, connectionId].map(pgText),
  );
  await recordDeliveryReceived(em, connectionId, delivery.receivedAt);
}

/** A connection's test webhook, received with a valid signature: logged as `test`, of the connection's organization. */
export async function recordTestDelivery(em: EntityManager, delivery: { id: string; receivedAt: Date; eventType: string; connectionId: string }): Promise<void> {
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, signature, outcome, detail, connection_id, organization)
     values (?, ?, ?, 'valid', 'test', 'test webhook received with a valid signature', ?::uuid, (select organization from calendly_connections where id = ?::uuid))`,
    [delivery.id, delivery.receivedAt, delivery.eventType, delivery.connectionId, delivery.connectionId],
  );
  await recordDeliveryReceived(em, delivery.connectionId, delivery.receivedAt.toISOString());
}

/**
 * Deliveries to feed through again, oldest first: those kept as `unprocessed`, and with `failed` those that failed
 * for good (e.g. the token was revoked, or data Calendly has fixed since); only those of `ids` when it is not empty.
 */
export async function replayableDeliveries(em: EntityManager, ids: string[], { failed = false } = {}): Promise<WebhookDelivery[]> {
  const outcomes: DeliveryOutcome[] = failed ? ['unprocessed', 'failed'] : ['unprocessed'];
  return em.find(
    WebhookDeliverySchema,
    { outcome: { $in: outcomes }, ...(ids.length ? { id: { $in: ids } } : {}) },
    { orderBy: { receivedAt: 'asc', id: 'asc' } },
  );
}

/** Deliveries kept as `unprocessed`, oldest first; only those of `ids` when it is not empty. */
export async function unprocessedDeliveries(em: EntityManager, ids: string[]): Promise<WebhookDelivery[]> {
  return replayableDeliveries(em, ids);
}

export async function markReplayed(em: EntityManager, deliveryId: string, detail: string): Promise<void> {
  await em.nativeUpdate(WebhookDeliverySchema, { id: deliveryId }, { outcome: 'replayed', detail, updatedAt: new Date() });
}

/** The latest deliveries, newest first: of one organization, or of all when it is undefined. */
export async function recentDeliveries(em: EntityManager, limit: number, organization?: string): Promise<WebhookDelivery[]> {
  return em.find(WebhookDeliverySchema, organization === undefined ? {} : { organization }, { orderBy: { receivedAt: 'desc', id: 'asc' }, limit });
}

/** What GET /api/deliveries narrows the log to; each filter left out narrows nothing. */
export interface DeliveryFilter {
  /** only this organization's deliveries; every organization's when undefined */
  organization: string | undefined;
  outcome?: DeliveryOutcome;
  eventType?: string;
  /** received at or after */
  from?: Date;
  /** received before */
  to?: Date;
  /** about an invitee of this email (whatever its case): as the delivery gave it, or as its stored meeting has it */
  email?: string;
  limit: number;
  offset: number;
}

const totalRow = rowShape({ total: integer });

/**
 * A page of the delivery log, latest first, and how many rows match over all pages. The email is the one the signed
 * delivery gave (kept on the row), or that of the lead of the meeting stored for the delivery's invitee in the same
 * organization (a minimal no-show delivery carries only the invitee's URI; rows logged before the key was kept).
 */
export async function listDeliveries(em: EntityManager, filter: DeliveryFilter): Promise<[WebhookDelivery[], number]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const where = (condition: string, value: unknown) => {
    conditions.push(condition);
    params.push(value);
  };
  if (filter.organization !== undefined) where('d.organization = ?', filter.organization);
  if (filter.outcome) where('d.outcome = ?', filter.outcome);
  if (filter.eventType) where('d.event_type = ?', filter.eventType);
  if (filter.from) where('d.received_at >= ?', filter.from);
  if (filter.to) where('d.received_at < ?', filter.to);
  if (filter.email) {
    const emailKey = emailKeyOf(filter.email);
    conditions.push(
      `(d.invitee_email_key = ? or exists (select 1 from meetings m join leads l on l.id = m.lead_id
               where m.organization = d.organization and m.invitee_uri = d.invitee_uri and l.email_key = ?))`,
    );
    params.push(emailKey, emailKey);
  }
  const clause = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const rows = await em.execute<Record<string, unknown>[]>(
    `select d.* from webhook_deliveries d ${clause} order by d.received_at desc, d.id asc limit ? offset ?`,
    [...params, filter.limit, filter.offset],
  );
  const [{ total }] = await queryRows(em, totalRow, `select count(*)::int as total from webhook_deliveries d ${clause}`, params);
  return [rows.map((row) => em.map(WebhookDeliverySchema, row)), total];
}

/** One delivery: of `organization` only, or of any when it is undefined. */
export async function findDelivery(em: EntityManager, id: string, organization: string | undefined): Promise<WebhookDelivery | null> {
  return em.findOne(WebhookDeliverySchema, organization === undefined ? { id } : { id, organization });
}

/** Which delivery log rows retention deletes (see deleteExpiredDeliveries). */
export interface DeliveryRetention {
  /** `processed`, `rejected` and `replayed` rows received and last changed before this go */
  before: Date;
  /** `failed` rows last changed before this go: kept longer, as they can still be fed again */
  failedBefore: Date;
}

/**
 * Retention: deletes at most `limit` expired rows of the delivery log and says how many it deleted; call it again
 * until that is fewer than `limit`. Never deleted: `processing` rows (their workflow has not finished; its outcome
 * still has to be recorded) and `unprocessed` ones (the only copy of a delivery, kept until it is replayed). The
 * conditions are repeated on the deleted row itself, so a row that a redelivery moves back to `processing` meanwhile
 * is kept (PostgreSQL re-checks them on the row's newest version).
 */
export async function deleteExpiredDeliveries(em: EntityManager, { before, failedBefore }: DeliveryRetention, limit: number): Promise<number> {
  const expired = `received_at < ? and updated_at < ?
    and (outcome in ('processed', 'rejected', 'replayed', 'test') or (outcome = 'failed' and updated_at < ?))`;
  const params = [before, before, failedBefore];
  const result = await em.execute<QueryResult>(
    `delete from webhook_deliveries where id in (select id from webhook_deliveries where ${expired} limit ?) and ${expired}`,
    [...params, limit, ...params],
    'run',
  );
  return result.affectedRows;
}
