/**
 * Feeds deliveries kept as `unprocessed` through the intake again, e.g. after an upgrade taught the system a new
 * event type; with `failed`, also deliveries that failed for good (e.g. while the API token was revoked, or about an
 * event Calendly could not show), once what made them fail is fixed. Their signature was checked when they arrived,
 * so it is not checked again.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { HANDLED_EVENTS, ROUTING_FORM_EVENT, type HandledEventName } from '../calendly/schemas';
import { markReplayed, replayableDeliveries } from '../database/deliveries';
import type { WebhookDelivery } from '../database/entities/webhook-delivery';
import { recordedConnectionId } from '../workflow-ids';
import { inviteeDelivery, InvalidDeliveryError, parseDelivery, type ParsedDelivery } from './parse';
import { startDeliveryWorkflow, workflowIdOf } from './intake';

export interface ReplayOptions {
  em: EntityManager;
  temporal: Client;
  taskQueue: string;
  apiBaseUrl: string;
  /** only these delivery ids (trackingIds); all unprocessed (and, with `failed`, failed) deliveries when empty */
  ids: string[];
  dryRun: boolean;
  /** also replay deliveries whose workflow failed for good */
  failed?: boolean;
}

export type ReplayResult =
  | { id: string; result: 'replayed'; workflowId: string; duplicate: boolean }
  | { id: string; result: 'would replay'; workflowId: string }
  | { id: string; result: 'still unprocessable'; reason: string };

export async function replayUnprocessedDeliveries(options: ReplayOptions): Promise<ReplayResult[]> {
  const rows = await replayableDeliveries(options.em, options.ids, { failed: options.failed ?? false });
  const results: ReplayResult[] = [];
  for (const row of rows) results.push(row.outcome === 'failed' ? await replayFailed(row, options) : await replayOne(row, options));
  return results;
}

async function replayOne(row: WebhookDelivery, { em, temporal, taskQueue, apiBaseUrl, dryRun }: ReplayOptions): Promise<ReplayResult> {
  const parsed = parseDelivery(Buffer.from(row.rawBody ?? '', 'utf8'), apiBaseUrl, recordedConnectionId(row.connectionId));
  if (parsed.kind === 'unprocessed') return { id: row.id, result: 'still unprocessable', reason: parsed.delivery.reason };
  if (dryRun) return { id: row.id, result: 'would replay', workflowId: workflowIdOf(parsed) };

  const started = await startDeliveryWorkflow(parsed, { client: temporal, taskQueue, deliveryId: randomUUID(), receivedAt: new Date(), source: 'replay' });
  await markReplayed(em, row.id, `replayed as ${started.workflowId}${started.duplicate ? ' (already processed)' : ''}`);
  return { id: row.id, result: 'replayed', workflowId: started.workflowId, duplicate: started.duplicate };
}

/**
 * A failed delivery is fed again under its own dedup key, so its failed workflow ID is reused: the new run moves the
 * same log row back to processing and on to its new outcome (the row is not marked replayed).
 */
async function replayFailed(row: WebhookDelivery, { temporal, taskQueue, apiBaseUrl, dryRun }: ReplayOptions): Promise<ReplayResult> {
  let parsed: ParsedDelivery;
  try {
    parsed = failedDeliveryOf(row, apiBaseUrl);
  } catch (error) {
    if (error instanceof InvalidDeliveryError) return { id: row.id, result: 'still unprocessable', reason: error.message };
    throw error;
  }
  if (dryRun) return { id: row.id, result: 'would replay', workflowId: workflowIdOf(parsed) };
  const started = await startDeliveryWorkflow(parsed, { client: temporal, taskQueue, deliveryId: randomUUID(), receivedAt: new Date(), source: 'replay' });
  return { id: row.id, result: 'replayed', workflowId: started.workflowId, duplicate: started.duplicate };
}

const isHandled = (name: string | null): name is HandledEventName => (HANDLED_EVENTS as readonly (string | null)[]).includes(name);

/**
 * The delivery a failed row stands for, from what the row kept (its URIs and time in Calendly); a row logged before
 * those were kept is read from its dedup key, `<event>:<event uuid>:<invitee uuid>[:<occurred at>]`.
 */
function failedDeliveryOf(row: WebhookDelivery, apiBaseUrl: string): ParsedDelivery {
  // A routing form submission keeps its body: parsed again, it gives the same dedup key.
  if (row.eventType === ROUTING_FORM_EVENT && row.rawBody) {
    const parsed = parseDelivery(Buffer.from(row.rawBody, 'utf8'), apiBaseUrl, recordedConnectionId(row.connectionId));
    if (parsed.kind === 'unprocessed') throw new InvalidDeliveryError(parsed.delivery.reason);
    return parsed;
  }
  if (!isHandled(row.eventType) || !row.dedupKey) throw new InvalidDeliveryError(`not an invitee delivery: ${row.eventType ?? 'no event type'}`);
  let { scheduledEventUri, inviteeUri, occurredAt } = row;
  if (!scheduledEventUri || !inviteeUri) {
    const [, eventUuid, inviteeUuid, ...rest] = row.dedupKey.split(':');
    if (!eventUuid || !inviteeUuid) throw new InvalidDeliveryError(`cannot tell the invitee from dedup key ${row.dedupKey}`);
    scheduledEventUri = `${apiBaseUrl.replace(/\/+$/, '')}/scheduled_events/${eventUuid}`;
    inviteeUri = `${scheduledEventUri}/invitees/${inviteeUuid}`;
    occurredAt = rest.length ? rest.join(':') : null;
  }
  const parsed = inviteeDelivery(row.eventType, 'current', scheduledEventUri, inviteeUri, null, occurredAt, recordedConnectionId(row.connectionId));
  if (parsed.kind === 'invitee' && parsed.delivery.dedupKey !== row.dedupKey) {
    throw new InvalidDeliveryError(`the kept URIs give dedup key ${parsed.delivery.dedupKey}, not ${row.dedupKey}`);
  }
  return parsed;
}
