/**
 * The workflows the worker registers. Deterministic code only: no I/O, no Node built-ins, no side effects.
 * Clients start them by function reference from here, e.g. `new WithStartWorkflowOperation(keepMeetingReminders, …)`.
 */
export { processRoutingFormSubmission } from './routing-form-delivery';
export { keepUnprocessed } from './unprocessed-delivery';
export { keepMeetingReminders } from './meeting-reminders';
/** Kept for runs started before deliveries went to their meeting's workflow (see invitee-delivery.ts). */
export { processInviteeDelivery } from './invitee-delivery';
export { reconcileBookings } from './reconcile-bookings';
export { checkWebhookSubscription } from './subscription-check';
export { pruneExpiredRecords } from './retention';
export { setUpConnection, disconnectConnection } from './connection';
export { deliverEndpointEvents } from './outbound-endpoint';
/** Kept for runs started before one workflow per endpoint (see outbound-delivery.ts). */
export { deliverOutboundEvent } from './outbound-delivery';
