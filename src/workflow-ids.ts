/** Workflow IDs a person can type into the Web UI search, built from Calendly's identifiers. */
import { uuidOf } from './calendly/schemas';

/** The long-lived workflow that keeps one meeting's reminders: `calendly-meeting-<event uuid>-<invitee uuid>`. */
export function meetingWorkflowId(inviteeUri: string): string {
  const segments = new URL(inviteeUri).pathname.split('/').filter(Boolean);
  return `calendly-meeting-${segments.at(-3)}-${uuidOf(inviteeUri)}`;
}

/** One outbound event webhook delivery: `outbound-delivery-<delivery id>`, the same for every dispatcher and replay. */
export function outboundDeliveryWorkflowId(deliveryId: string): string {
  return `outbound-delivery-${deliveryId}`;
}

/** A connection's set-up (connect, reconnect) and teardown (disconnect): one of each at a time. */
export function connectionWorkflowIds(connectionId: string) {
  return { setUp: `calendly-connection-${connectionId}-setup`, teardown: `calendly-connection-${connectionId}-disconnect` };
}

/** A connection's own schedules, beside the deployment's (src/worker/schedules.ts); their IDs start with the task queue. */
export function connectionScheduleIds(taskQueue: string, connectionId: string) {
  return { reconcile: `${taskQueue}-reconcile-bookings-${connectionId}`, subscriptionCheck: `${taskQueue}-subscription-check-${connectionId}` };
}
