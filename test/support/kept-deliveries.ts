/** A delivery log row as the receiver keeps a signed delivery it could not process (or an older version kept it). */
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';

export async function keepUnprocessedRow(
  orm: MikroORM,
  { rawBody, detail, organization = null }: { rawBody: string; detail: string; organization?: string | null },
): Promise<string> {
  const id = randomUUID();
  await orm.em.fork().insert(WebhookDeliverySchema, {
    id,
    receivedAt: new Date(),
    eventType: 'invitee.created',
    dedupKey: `unprocessed:${id}`,
    signature: 'valid',
    workflowId: null,
    outcome: 'unprocessed',
    detail,
    rawBody,
    organization,
    updatedAt: new Date(),
  });
  return id;
}
