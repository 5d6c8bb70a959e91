/**
 * Hands a signed delivery to Temporal. Once this returns, the delivery is durable: in its meeting's workflow's history
 * (the workflow took it), or as a workflow of its own started (no worker is needed for that). That is when the receiver
 * may acknowledge it. Used by the webhook route, the backfill and the replay.
 */
import { WithStartWorkflowOperation, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { emailKeyOf } from '../emails';
import { isAlreadyStarted } from '../temporal/already-started';
import {
  CALENDLY_CONNECTION,
  deliverToMeeting,
  DELIVERY_TYPE,
  EVENT_UUID,
  INVITEE_EMAIL,
  MEETING_START,
  type DeliverySource,
  type DeliveryTaken,
  type InviteeDelivery,
} from '../contract';
import { meetingWorkflowId } from '../workflow-ids';
import { keepMeetingReminders, keepUnprocessed, processRoutingFormSubmission } from '../../workflows';
import { workflowIdFor, type ParsedDelivery, type ParsedInviteeDelivery } from './parse';

/**
 * How long Temporal (and, for a delivery about an invitee, a worker) has to take a delivery: within Calendly's 15 s
 * read time-out, and short enough that a receiver stopping for a deploy finishes its requests within Docker's 10 s.
 */
const ACCEPT_TIMEOUT_MS = 5_000;

export interface IntakeOptions {
  client: Client;
  taskQueue: string;
  deliveryId: string;
  receivedAt: Date;
  source: DeliverySource;
  /** Temporal must accept within this time, or the caller answers 503 and Calendly retries. */
  timeoutMs?: number;
}

export interface IntakeResult {
  workflowId: string;
  /** the same delivery was accepted before: nothing was started */
  duplicate: boolean;
  kind: ParsedDelivery['kind'];
}

/** The workflow a delivery is handed to: its meeting's for a delivery about an invitee, one of its own otherwise. */
export function workflowIdOf(parsed: ParsedDelivery): string {
  return parsed.kind === 'invitee' ? meetingWorkflowId(parsed.delivery.inviteeUri, parsed.delivery.connectionId) : workflowIdFor(parsed.delivery.dedupKey);
}

export async function startDeliveryWorkflow(parsed: ParsedDelivery, options: IntakeOptions): Promise<IntakeResult> {
  const { client, taskQueue, deliveryId, receivedAt, source, timeoutMs = ACCEPT_TIMEOUT_MS } = options;
  const workflowId = workflowIdOf(parsed);
  const common = {
    workflowId,
    taskQueue,
    // A completed delivery is never run twice; one that failed (e.g. was terminated by ops) may be delivered again.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
  };
  const envelope = { deliveryId, receivedAt: receivedAt.toISOString() };
  const connection: SearchAttributePair = { key: CALENDLY_CONNECTION, value: parsed.delivery.connectionId };
  try {
    return await client.connection.withDeadline(Date.now() + timeoutMs, async () => {
      if (parsed.kind === 'invitee') {
        const taken = await deliverToMeetingWorkflow(client, taskQueue, workflowId, parsed, { ...parsed.delivery, ...envelope, source });
        return { workflowId, duplicate: taken.deliveryId !== deliveryId, kind: parsed.kind };
      }
      if (parsed.kind === 'routing_form_submission') {
        if (source === 'backfill') throw new TypeError('the sync saves routing form submissions itself: it feeds no delivery');
        await client.workflow.start(processRoutingFormSubmission, {
          ...common,
          args: [{ ...parsed.delivery, ...envelope, source }],
          typedSearchAttributes: [{ key: DELIVERY_TYPE, value: parsed.delivery.eventName }, connection],
        });
      } else {
        const searchAttributes: SearchAttributePair[] = [
          ...(parsed.delivery.eventName ? [{ key: DELIVERY_TYPE, value: parsed.delivery.eventName }] : []),
          connection,
        ];
        await client.workflow.start(keepUnprocessed, {
          ...common,
          args: [{ ...parsed.delivery, ...envelope }],
          typedSearchAttributes: searchAttributes,
        });
      }
      return { workflowId, duplicate: false, kind: parsed.kind };
    });
  } catch (error) {
    if (isAlreadyStarted(error)) return { workflowId, duplicate: true, kind: parsed.kind };
    throw error;
  }
}

/**
 * Update-with-start: starts the meeting's workflow when none runs (a closed one is followed by a new run, e.g. for a
 * no-show after the meeting), and hands it the delivery. The update ID comes from the dedup key, so a redelivery is
 * the same update and gets the first one's answer, from a running or a closed run alike. A replay is a new update (its
 * own delivery id), so that a failed delivery can be fed again; so is a redelivery or a backfill of a delivery whose
 * run failed for good (its first delivery failed: no meeting to keep) or was terminated by ops. It returns once the
 * workflow took the delivery, durable in its history. The search attributes are the ones known from the delivery; the
 * workflow sets MeetingStatus when the meeting ends.
 */
async function deliverToMeetingWorkflow(
  client: Client,
  taskQueue: string,
  workflowId: string,
  parsed: ParsedInviteeDelivery,
  delivery: InviteeDelivery,
): Promise<DeliveryTaken> {
  const { inviteeEmail, connectionId, eventName } = parsed.delivery;
  const searchAttributes: SearchAttributePair[] = [
    ...(inviteeEmail ? [{ key: INVITEE_EMAIL, value: emailKeyOf(inviteeEmail) }] : []),
    { key: EVENT_UUID, value: parsed.eventUuid },
    { key: DELIVERY_TYPE, value: eventName },
    { key: CALENDLY_CONNECTION, value: connectionId },
    ...(parsed.meetingStart ? [{ key: MEETING_START, value: new Date(parsed.meetingStart) }] : []),
  ];
  const handOver = (updateId: string) =>
    client.workflow.executeUpdateWithStart(deliverToMeeting, {
      updateId,
      args: [delivery],
      startWorkflowOperation: new WithStartWorkflowOperation(keepMeetingReminders, {
        workflowId,
        taskQueue,
        args: [{}],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: searchAttributes,
      }),
    });
  const again = `${delivery.dedupKey}@${delivery.source}:${delivery.deliveryId}`;
  if (delivery.source === 'replay') return handOver(again);
  const taken = await handOver(delivery.dedupKey);
  if (taken.deliveryId === delivery.deliveryId) return taken;
  const { status } = await client.workflow.getHandle(workflowId).describe();
  return ENDED_FOR_GOOD.has(status.name) ? handOver(again) : taken;
}

/** Runs whose deliveries may be fed again: none of them is kept by a run any more. */
const ENDED_FOR_GOOD = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT']);
