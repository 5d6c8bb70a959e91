/** Starts the workflow of an outbound delivery, and replays a dead one. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import type { OutboundRetrySchedule } from '../contract';
import { markOutboundDeliveryDispatched, outboundDeliveriesInFlight, reviveDeadOutboundDelivery } from '../database/outbound-webhooks';
import { isAlreadyStarted } from '../temporal/already-started';
import { outboundDeliveryWorkflowId } from '../workflow-ids';
import { deliverOutboundEvent } from '../../workflows';

export interface OutboundDispatch {
  temporal: Client;
  taskQueue: string;
  retry: OutboundRetrySchedule;
  /** an organization's deliveries dispatched and not settled, at most (the dispatcher starts the others later) */
  maxInFlightPerOrganization: number;
}

/**
 * Starts `deliverOutboundEvent` for the delivery and marks it dispatched; false when its workflow is running
 * already (another dispatcher, or the run of a just-replayed delivery still closing): the delivery then stays
 * undispatched, so a later sweep starts it if that run ends without delivering it.
 */
export async function startOutboundDelivery(em: EntityManager, { temporal, taskQueue, retry }: OutboundDispatch, deliveryId: string): Promise<boolean> {
  try {
    await temporal.workflow.start(deliverOutboundEvent, {
      workflowId: outboundDeliveryWorkflowId(deliveryId),
      taskQueue,
      args: [{ deliveryId, retry }],
    });
  } catch (error) {
    if (isAlreadyStarted(error)) return false;
    throw error;
  }
  await markOutboundDeliveryDispatched(em, deliveryId);
  return true;
}

export type ReplayResult =
  | { replayed: true; workflowId: string }
  | { replayed: false; reason: 'missing' | 'endpoint_disabled' | 'pending' | 'delivered' };

/**
 * A dead delivery back to pending with its attempts from zero, and its workflow started again (same ID, same
 * Idempotency-Key); of the given organization only. When Temporal cannot be reached now, the worker's dispatcher
 * starts it at its next sweep; and when the organization has as many deliveries in flight as allowed, once one settles.
 */
export async function replayOutboundDelivery(
  em: EntityManager,
  dispatch: OutboundDispatch,
  deliveryId: string,
  organization?: string,
  onStartFailure?: (error: unknown) => void,
): Promise<ReplayResult> {
  const revived = await reviveDeadOutboundDelivery(em, deliveryId, organization);
  if (!revived.revived) return { replayed: false, reason: revived.reason };
  try {
    if ((await outboundDeliveriesInFlight(em, revived.organization)) < dispatch.maxInFlightPerOrganization) await startOutboundDelivery(em, dispatch, deliveryId);
  } catch (error) {
    onStartFailure?.(error);
  }
  return { replayed: true, workflowId: outboundDeliveryWorkflowId(deliveryId) };
}
