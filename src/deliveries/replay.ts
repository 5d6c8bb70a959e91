/**
 * Feeds deliveries kept as `unprocessed` through the intake again, e.g. after an upgrade taught the system a new
 * event type. Their signature was checked when they arrived, so it is not checked again.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { WebhookDeliverySchema, type WebhookDelivery } from '../database/entities/webhook-delivery';
import { parseDelivery, workflowIdFor } from './parse';
import { startDeliveryWorkflow } from './intake';

export interface ReplayOptions {
  em: EntityManager;
  temporal: Client;
  taskQueue: string;
  apiBaseUrl: string;
  /** only these delivery ids (trackingIds); all unprocessed deliveries when empty */
  ids: string[];
  dryRun: boolean;
}

export type ReplayResult =
  | { id: string; result: 'replayed'; workflowId: string; duplicate: boolean }
  | { id: string; result: 'would replay'; workflowId: string }
  | { id: string; result: 'still unprocessable'; reason: string };

export async function replayUnprocessedDeliveries({ em, temporal, taskQueue, apiBaseUrl, ids, dryRun }: ReplayOptions): Promise<ReplayResult[]> {
  const rows = await em.find(
    WebhookDeliverySchema,
    { outcome: 'unprocessed', ...(ids.length ? { id: { $in: ids } } : {}) },
    { orderBy: { receivedAt: 'asc' } },
  );
  const results: ReplayResult[] = [];
  for (const row of rows) results.push(await replayOne(row, { em, temporal, taskQueue, apiBaseUrl, dryRun }));
  return results;
}

async function replayOne(
  row: WebhookDelivery,
  { em, temporal, taskQueue, apiBaseUrl, dryRun }: Omit<ReplayOptions, 'ids'>,
): Promise<ReplayResult> {
  const parsed = parseDelivery(Buffer.from(row.rawBody ?? '', 'utf8'), apiBaseUrl);
  if (parsed.kind === 'unprocessed') return { id: row.id, result: 'still unprocessable', reason: parsed.delivery.reason };
  if (dryRun) return { id: row.id, result: 'would replay', workflowId: workflowIdFor(parsed.delivery.dedupKey) };

  const started = await startDeliveryWorkflow(parsed, { client: temporal, taskQueue, deliveryId: randomUUID(), receivedAt: new Date(), source: 'replay' });
  row.outcome = 'replayed';
  row.detail = `replayed as ${started.workflowId}${started.duplicate ? ' (already processed)' : ''}`;
  row.updatedAt = new Date();
  await em.flush();
  return { id: row.id, result: 'replayed', workflowId: started.workflowId, duplicate: started.duplicate };
}
