/** Writes to the webhook delivery audit log. Every write is idempotent, so activities may retry it freely. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { SignatureOutcome } from '../calendly/signature';
import type { InviteeDelivery, UnprocessedDelivery } from '../contract';
import { WebhookDeliverySchema, type DeliveryOutcome } from './entities/webhook-delivery';

export interface RejectedDelivery {
  deliveryId: string;
  receivedAt: Date;
  signature: SignatureOutcome | 'unchecked';
  detail: string;
}

/** A refused request: its body is not kept (it may be forged or oversized). */
export async function recordRejectedDelivery(em: EntityManager, rejected: RejectedDelivery): Promise<void> {
  await em.insert(WebhookDeliverySchema, {
    id: rejected.deliveryId,
    receivedAt: rejected.receivedAt,
    eventType: null,
    dedupKey: null,
    signature: rejected.signature,
    workflowId: null,
    outcome: 'rejected',
    detail: rejected.detail,
    rawBody: null,
    updatedAt: rejected.receivedAt,
  });
}

/**
 * The first write for an accepted delivery; a redelivery after Temporal forgot the first keeps the original row.
 * A backfill was read from the API, not signed by Calendly: its signature is `unchecked`.
 */
export async function recordAcceptedDelivery(em: EntityManager, delivery: InviteeDelivery, workflowId: string): Promise<void> {
  const backfill = delivery.source === 'backfill';
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, workflow_id, outcome, detail)
     values (?, ?, ?, ?, ?, ?, 'processing', ?)
     on conflict do nothing`,
    [
      delivery.deliveryId,
      delivery.receivedAt,
      delivery.eventName,
      delivery.dedupKey,
      backfill ? 'unchecked' : 'valid',
      workflowId,
      backfill ? 'backfilled from the Calendly API' : null,
    ],
  );
}

export async function recordDeliveryOutcome(
  em: EntityManager,
  dedupKey: string,
  outcome: Extract<DeliveryOutcome, 'processed' | 'failed'>,
  detail: string | null,
): Promise<void> {
  await em.execute(`update webhook_deliveries set outcome = ?, detail = coalesce(?, detail), updated_at = now() where dedup_key = ?`, [
    outcome,
    detail,
    dedupKey,
  ]);
}

/** Keeps a signed delivery that could not be processed, raw, so that it can be replayed later. */
export async function keepUnprocessedDelivery(em: EntityManager, delivery: UnprocessedDelivery, workflowId: string): Promise<void> {
  await em.execute(
    `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, workflow_id, outcome, detail, raw_body)
     values (?, ?, ?, ?, 'valid', ?, 'unprocessed', ?, ?)
     on conflict do nothing`,
    [delivery.deliveryId, delivery.receivedAt, delivery.eventName, delivery.dedupKey, workflowId, delivery.reason, delivery.rawBody],
  );
}
