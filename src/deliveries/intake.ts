/**
 * Hands a signed delivery to Temporal. Once `start` returns, the delivery is durable (no worker is needed for that),
 * which is when the receiver may acknowledge it. Used by the webhook route, the backfill and the replay.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { emailKeyOf } from '../emails';
import { isAlreadyStarted } from '../temporal/already-started';
import { CALENDLY_CONNECTION, DELIVERY_TYPE, EVENT_UUID, INVITEE_EMAIL, type DeliverySource } from '../contract';
import { keepUnprocessed, processInviteeDelivery, processRoutingFormSubmission } from '../../workflows';
import { workflowIdFor, type ParsedDelivery } from './parse';

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

export async function startDeliveryWorkflow(parsed: ParsedDelivery, options: IntakeOptions): Promise<IntakeResult> {
  const { client, taskQueue, deliveryId, receivedAt, source, timeoutMs = 5_000 } = options;
  const workflowId = workflowIdFor(parsed.delivery.dedupKey);
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
    await client.connection.withDeadline(Date.now() + timeoutMs, async () => {
      if (parsed.kind === 'invitee') {
        const { inviteeEmail } = parsed.delivery;
        const searchAttributes: SearchAttributePair[] = [
          ...(inviteeEmail ? [{ key: INVITEE_EMAIL, value: emailKeyOf(inviteeEmail) }] : []),
          { key: EVENT_UUID, value: parsed.eventUuid },
          { key: DELIVERY_TYPE, value: parsed.delivery.eventName },
          connection,
        ];
        await client.workflow.start(processInviteeDelivery, {
          ...common,
          args: [{ ...parsed.delivery, ...envelope, source }],
          typedSearchAttributes: searchAttributes,
        });
      } else if (parsed.kind === 'routing_form_submission') {
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
    });
    return { workflowId, duplicate: false, kind: parsed.kind };
  } catch (error) {
    if (isAlreadyStarted(error)) return { workflowId, duplicate: true, kind: parsed.kind };
    throw error;
  }
}
