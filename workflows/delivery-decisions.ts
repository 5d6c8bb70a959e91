/**
 * What a delivery's workflow decides from the delivery itself, as pure functions tested without a Temporal server
 * (test/workflows/decisions/).
 */
import type { InviteeDelivery, NoShowChange } from '../src/contract';

/**
 * Marks and unmarks follow the delivery, in the order they happened in Calendly: each carries when it happened (the
 * envelope's time, else when it was received), and the database keeps the latest. A mark's time is the one Calendly
 * gives the no-show when the invitee shows one; nothing for the other events.
 */
export function noShowChangeOf(delivery: InviteeDelivery, markedAt: string | undefined): NoShowChange | undefined {
  const occurredAt = delivery.occurredAt ?? delivery.receivedAt;
  if (delivery.eventName === 'invitee_no_show.created') return { inviteeUri: delivery.inviteeUri, noShowAt: markedAt ?? occurredAt, occurredAt };
  if (delivery.eventName === 'invitee_no_show.deleted') return { inviteeUri: delivery.inviteeUri, noShowAt: null, occurredAt };
  return undefined;
}

/**
 * A signed cancel is a cancel even when Calendly cannot show it any more (e.g. the event was deleted): when its
 * delivery failed for good, the meeting is still canceled, at the time of the cancel, so that its reminders never
 * fire. Nothing for the other events.
 */
export function cancelOfFailedDelivery(delivery: InviteeDelivery, reason: string): { canceledAt: string; because: string } | undefined {
  if (delivery.eventName !== 'invitee.canceled') return undefined;
  return { canceledAt: delivery.occurredAt ?? delivery.receivedAt, because: `canceled in Calendly; the cancel could not be read: ${reason}` };
}
