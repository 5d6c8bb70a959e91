/**
 * The workflows the worker registers. Deterministic code only: no I/O, no Node built-ins, no side effects.
 * Clients start them by function reference from here, e.g. `client.workflow.start(processInviteeDelivery, …)`.
 */
export { processInviteeDelivery } from './invitee-delivery';
export { processRoutingFormSubmission } from './routing-form-delivery';
export { keepUnprocessed } from './unprocessed-delivery';
export { keepMeetingReminders } from './meeting-reminders';
export { reconcileBookings } from './reconcile-bookings';
export { checkWebhookSubscription } from './subscription-check';
export { pruneExpiredRecords } from './retention';
export { setUpConnection, disconnectConnection } from './connection';
export { deliverOutboundEvent } from './outbound-delivery';
