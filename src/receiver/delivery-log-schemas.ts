/**
 * What GET /api/deliveries and POST /api/deliveries/{id}/replay accept and answer (src/receiver/delivery-log-api.ts),
 * apart from the routes so that the dashboard's script (client/delivery-log.ts) can name their types.
 */
import { z } from 'zod';
import { DELIVERY_OUTCOMES } from '../database/entities/webhook-delivery';

const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
/** Free text goes to PostgreSQL, which refuses the NUL character: refused here with a 400, not a 500 from below. */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character');

export const deliveryQuerySchema = z
  .object({
    outcome: z.enum(DELIVERY_OUTCOMES).optional().meta({ description: 'Only deliveries with this outcome; `failed` lists those that failed for good.' }),
    eventType: text(100).optional().meta({ description: 'Only deliveries of this Calendly event, e.g. `invitee.created`.' }),
    from: instant.optional().meta({ description: 'Only deliveries received at or after this instant (ISO 8601 with offset).' }),
    to: instant.optional().meta({ description: 'Only deliveries received before this instant (ISO 8601 with offset).' }),
    email: text(320)
      .optional()
      .meta({
        description:
          "Only deliveries about an invitee of this email address (case-insensitive), as stored in the organization's meetings: " +
          'a delivery whose invitee was never stored (e.g. a booking that failed before Calendly was read) has none.',
      }),
    limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Page size.' }),
    offset: z.coerce.number().int().min(0).default(0).meta({ description: 'Rows to skip.' }),
  })
  .refine((query) => !query.from || !query.to || query.from < query.to, { message: 'must be after from', path: ['to'] });

const timestamp = z.date().meta({ override: { type: 'string', format: 'date-time' } });
const nullableText = z.string().nullable();

export const deliverySchema = z
  .object({
    id: z.uuid().meta({ description: 'The `trackingId` the webhook answered.' }),
    receivedAt: timestamp,
    eventType: nullableText,
    outcome: z.enum(DELIVERY_OUTCOMES),
    detail: nullableText.meta({ description: 'Why it failed, was not processable, or was fed again (never personal data).' }),
    inviteeUri: z.url().nullable(),
    scheduledEventUri: z.url().nullable(),
    organization: nullableText.meta({ description: 'Whose delivery it is; null while its connection was not known.' }),
    workflowId: nullableText,
    workflowUrl: z.url().nullable().meta({ description: 'The workflow in the Temporal Web UI.' }),
    replayable: z.boolean().meta({ description: '`failed` or `unprocessed`: POST /api/deliveries/{id}/replay feeds it again.' }),
  })
  .meta({ id: 'WebhookDelivery', description: 'One row of the webhook delivery log.' });

export const deliveryPageSchema = z
  .object({
    data: z.array(deliverySchema),
    pagination: z.object({ limit: z.number().int(), offset: z.number().int(), total: z.number().int() }),
  })
  .meta({ id: 'WebhookDeliveryPage' });

export const deliveryReplaySchema = z
  .object({
    id: z.uuid(),
    result: z.literal('replayed'),
    workflowId: z.string().meta({ description: 'The workflow now processing it (a failed delivery keeps its own workflow ID).' }),
    duplicate: z.boolean().meta({ description: 'Its workflow was already running or had already processed it: nothing new was started.' }),
  })
  .meta({ id: 'WebhookDeliveryReplay' });
