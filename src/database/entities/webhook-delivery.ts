import { EntitySchema } from '@mikro-orm/core';
import type { SignatureOutcome } from '../../calendly/signature';

/**
 * - rejected: the signature failed; nothing was started and the body is not kept
 * - processing: accepted by Temporal, the workflow is working on it
 * - processed / failed: the workflow finished (failed = a permanent error, e.g. the event was deleted or the API token
 *   was revoked); a failed delivery may be fed again (redelivery, backfill, replay), which moves it back to processing
 * - unprocessed: signed, but malformed or of an event type not handled yet; the raw body is kept for replay
 * - replayed: an unprocessed delivery that was fed through again (see scripts/replay-deliveries.ts)
 * - test: a connection's test webhook (src/deliveries/test-delivery.ts), signed and received; nothing to process
 */
export const DELIVERY_OUTCOMES = ['rejected', 'processing', 'processed', 'failed', 'unprocessed', 'replayed', 'test'] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];
/** What can be fed through again (src/deliveries/replay.ts, with `failed`). */
export const REPLAYABLE_OUTCOMES: readonly DeliveryOutcome[] = ['failed', 'unprocessed'];

/** The audit log of every webhook delivery that reached the receiver. */
export interface WebhookDelivery {
  /** also the trackingId returned in error responses */
  id: string;
  receivedAt: Date;
  eventType: string | null;
  /** unique per invitee and event type; null for rejected deliveries */
  dedupKey: string | null;
  signature: SignatureOutcome | 'unchecked';
  workflowId: string | null;
  outcome: DeliveryOutcome;
  detail: string | null;
  rawBody: string | null;
  /** what an invitee delivery was about, enough to feed it again (replay of a failed one) and to see what failed */
  scheduledEventUri: string | null;
  inviteeUri: string | null;
  /** the invitee's email, lower-cased, as the signed delivery gave it: finds a delivery whose invitee was never stored */
  inviteeEmailKey: string | null;
  /** the delivery's `created_at` in Calendly, as given (it keys no-show marks) */
  occurredAt: string | null;
  /** whose delivery it is, once known (from the start when its connection's row exists) */
  organization: string | null;
  /** the Calendly connection it was sent to; null in rows logged before every account was a connection */
  connectionId: string | null;
  updatedAt: Date;
}

export const WebhookDeliverySchema = new EntitySchema<WebhookDelivery>({
  name: 'WebhookDelivery',
  tableName: 'webhook_deliveries',
  indexes: [{ properties: ['receivedAt'] }, { properties: ['outcome'] }, { properties: ['organization', 'inviteeEmailKey'] }],
  properties: {
    id: { type: 'uuid', primary: true },
    receivedAt: { type: 'datetime', columnType: 'timestamptz' },
    eventType: { type: 'text', nullable: true },
    dedupKey: { type: 'text', nullable: true, unique: 'webhook_deliveries_dedup_key_unique' },
    signature: { type: 'text' },
    workflowId: { type: 'text', nullable: true },
    outcome: { type: 'text' },
    detail: { type: 'text', nullable: true },
    rawBody: { type: 'text', nullable: true },
    scheduledEventUri: { type: 'text', nullable: true },
    inviteeUri: { type: 'text', nullable: true },
    inviteeEmailKey: { type: 'text', nullable: true },
    occurredAt: { type: 'text', nullable: true },
    organization: { type: 'text', nullable: true },
    connectionId: { type: 'uuid', nullable: true },
    updatedAt: { type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' },
  },
});
