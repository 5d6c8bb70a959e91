/** Workflow IDs a person can type into the Web UI search, built from Calendly's identifiers. */
import { uuidOf } from './calendly/schemas';

/**
 * The connection of CALENDLY_API_TOKEN (kind `personal_token`, src/connections/personal-token.ts): the same id in every
 * process and after every restart, and the one a workflow recorded before every account was a connection means when
 * it names none.
 */
export const PERSONAL_TOKEN_CONNECTION_ID = '00000000-0000-4000-8000-000000000001';

/**
 * Dedup keys, workflow IDs and schedule IDs of a connection start with its id, so that the same Calendly identifiers
 * under two connections never collide; the personal token connection's keep the form they had before connections
 * existed, so that a redelivery of a change accepted then is still a duplicate and its running workflows keep theirs.
 */
export function connectionKeyPrefix(connectionId: string, separator: string): string {
  return connectionId === PERSONAL_TOKEN_CONNECTION_ID ? '' : `${connectionId}${separator}`;
}

/** The connection a recorded workflow input names; one recorded before every account was a connection names none. */
export function recordedConnectionId(connectionId: string | null | undefined): string {
  return connectionId ?? PERSONAL_TOKEN_CONNECTION_ID;
}

/**
 * The long-lived workflow that keeps one meeting's reminders: `calendly-meeting-<connection id>-<event uuid>-<invitee
 * uuid>`, so that two organizations holding the same invitee never share one (without the prefix for the personal
 * token connection, see connectionKeyPrefix). Meetings stored before that prefix keep the ID they were started with
 * (`meetings.workflow_id` is null for them).
 */
export function meetingWorkflowId(inviteeUri: string, connectionId: string): string {
  const segments = new URL(inviteeUri).pathname.split('/').filter(Boolean);
  return `calendly-meeting-${connectionKeyPrefix(connectionId, '-')}${segments.at(-3)}-${uuidOf(inviteeUri)}`;
}

/** An endpoint's outbound deliveries, in order: `outbound-endpoint-<endpoint id>`, the same for every dispatcher. */
export function outboundEndpointWorkflowId(endpointId: string): string {
  return `outbound-endpoint-${endpointId}`;
}

/** One outbound event webhook delivery, as the code before one workflow per endpoint started it: `outbound-delivery-<delivery id>`. */
export function outboundDeliveryWorkflowId(deliveryId: string): string {
  return `outbound-delivery-${deliveryId}`;
}

/** A connection's set-up (connect, reconnect) and teardown (disconnect): one of each at a time. */
export function connectionWorkflowIds(connectionId: string) {
  return { setUp: `calendly-connection-${connectionId}-setup`, teardown: `calendly-connection-${connectionId}-disconnect` };
}

/** A connection's own schedules, beside the deployment's (src/worker/schedules.ts); their IDs start with the task queue. */
export function connectionScheduleIds(taskQueue: string, connectionId: string) {
  const suffix = connectionId === PERSONAL_TOKEN_CONNECTION_ID ? '' : `-${connectionId}`;
  return { reconcile: `${taskQueue}-reconcile-bookings${suffix}`, subscriptionCheck: `${taskQueue}-subscription-check${suffix}` };
}
