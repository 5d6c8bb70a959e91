/** Workflow IDs a person can type into the Web UI search, built from Calendly's identifiers. */
import { uuidOf } from './calendly/schemas';

/**
 * The long-lived workflow that keeps one meeting's reminders: `calendly-meeting-<event uuid>-<invitee uuid>`, and for
 * a connection's meeting `calendly-meeting-<connection id>-<event uuid>-<invitee uuid>`, so that two organizations
 * holding the same invitee never share one. Meetings stored before that prefix keep the ID they were started with
 * (`meetings.workflow_id` is null for them and for the environment's account).
 */
export function meetingWorkflowId(inviteeUri: string, connectionId?: string | null): string {
  const segments = new URL(inviteeUri).pathname.split('/').filter(Boolean);
  return `calendly-meeting-${connectionId ? `${connectionId}-` : ''}${segments.at(-3)}-${uuidOf(inviteeUri)}`;
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
