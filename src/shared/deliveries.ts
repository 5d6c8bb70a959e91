/** What the receiver hands to Temporal for one webhook delivery; shared by the receiver, workflows and activities. */
import type { HandledEventName } from '../calendly/schemas';

/** webhook: signed by Calendly; replay: a kept webhook fed through again; backfill: read from the Calendly API */
export type DeliverySource = 'webhook' | 'replay' | 'backfill';

/** A delivery about one invitee that this system turns into a lead and a meeting. */
export interface InviteeDelivery {
  /** the delivery log row, also the trackingId the receiver answered with */
  deliveryId: string;
  /** one per invitee and event type: a redelivery of the same change has the same key */
  dedupKey: string;
  eventName: HandledEventName;
  format: 'current' | 'legacy';
  scheduledEventUri: string;
  inviteeUri: string;
  /** null when a minimal no-show payload carried only the invitee's URI */
  inviteeEmail: string | null;
  /** when the change happened in Calendly (the envelope's created_at, if known); orders no-show marks and unmarks */
  occurredAt: string | null;
  receivedAt: string;
  source: DeliverySource;
}

/** A signed delivery that could not be processed (malformed or an event type not handled yet): kept raw for replay. */
export interface UnprocessedDelivery {
  deliveryId: string;
  dedupKey: string;
  eventName: string | null;
  reason: string;
  rawBody: string;
  receivedAt: string;
}

export type DeliveryOutcomeSummary =
  | { outcome: 'processed'; leadId: string; meetingId: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'unprocessed'; reason: string };
