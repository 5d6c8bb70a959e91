/** Wakes the workflow of an endpoint with deliveries waiting, and replays a dead delivery. */
import type { EntityManager } from '@mikro-orm/postgresql';
import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { outboundEventsWaiting, type OutboundRetrySchedule } from '../contract';
import { markOutboundDeliveriesDispatched, reviveDeadOutboundDelivery, type EndpointToWake } from '../database/outbound-webhooks';
import { outboundEndpointWorkflowId } from '../workflow-ids';
import { deliverEndpointEvents } from '../../workflows';

export interface OutboundDispatch {
  temporal: Client;
  taskQueue: string;
  retry: OutboundRetrySchedule;
  /** an organization's endpoints at work (deliveries dispatched and not settled) at most; the others wait their turn */
  maxInFlightPerOrganization: number;
}

/**
 * Tells the endpoint's workflow that it has deliveries waiting (Signal-With-Start: it starts one when none runs),
 * then marks those deliveries dispatched. `onlyStart`: starts one when none runs and leaves a running one alone (it
 * gets to them in order); for deliveries waiting long behind a workflow that may have been terminated.
 */
export async function wakeOutboundEndpoint(em: EntityManager, { temporal, taskQueue, retry }: OutboundDispatch, endpoint: EndpointToWake, onlyStart = false): Promise<void> {
  const workflowId = outboundEndpointWorkflowId(endpoint.endpointId);
  const input = { endpointId: endpoint.endpointId, organization: endpoint.organization, retry };
  if (onlyStart) {
    const useExisting = WorkflowIdConflictPolicy.USE_EXISTING;
    await temporal.workflow.start(deliverEndpointEvents, { workflowId, taskQueue, args: [{ ...input, woken: true }], workflowIdConflictPolicy: useExisting });
  } else {
    await temporal.workflow.signalWithStart(deliverEndpointEvents, { workflowId, taskQueue, args: [input], signal: outboundEventsWaiting, signalArgs: [] });
  }
  await markOutboundDeliveriesDispatched(em, endpoint.deliveryIds);
}

export type ReplayResult =
  | { replayed: true; workflowId: string }
  | { replayed: false; reason: 'missing' | 'endpoint_disabled' | 'pending' | 'delivered' };

/**
 * A dead delivery back to pending with its attempts from zero, for its endpoint's workflow to send again (same
 * Idempotency-Key); of the given organization only. The worker's dispatcher, woken by it, wakes that workflow,
 * once the organization has room for one more endpoint at work.
 */
export async function replayOutboundDelivery(em: EntityManager, deliveryId: string, organization?: string): Promise<ReplayResult> {
  const revived = await reviveDeadOutboundDelivery(em, deliveryId, organization);
  if (!revived.revived) return { replayed: false, reason: revived.reason };
  return { replayed: true, workflowId: outboundEndpointWorkflowId(revived.endpointId) };
}
