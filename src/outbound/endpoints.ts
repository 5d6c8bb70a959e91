/** Adding an outbound endpoint, the same from the API and the admin command: validated input, a new secret. */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { createOutboundEndpoint, OUTBOUND_EVENT_FILTERS, type OutboundEndpoint } from '../database/outbound-webhooks';

const withoutNul = (value: string) => !value.includes('\u0000');

/** An http(s) URL: where deliveries are POSTed, or the Calendly organization URI endpoints belong to. */
const httpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine(withoutNul, 'must not contain a NUL character')
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }));

export const organizationUri = httpUrl;

export const newOutboundEndpoint = z.object({
  url: httpUrl,
  eventTypes: z
    .array(z.enum(OUTBOUND_EVENT_FILTERS, { error: `must be one of ${OUTBOUND_EVENT_FILTERS.join(', ')}` }))
    .min(1, 'needs at least one event type, e.g. ["meeting.*"]')
    .transform((types) => [...new Set(types)]),
});
export type NewOutboundEndpoint = z.infer<typeof newOutboundEndpoint>;

/** The endpoint and its signing secret, which is shown only this once. */
export async function addOutboundEndpoint(
  em: EntityManager,
  organization: string,
  endpoint: NewOutboundEndpoint,
): Promise<OutboundEndpoint & { secret: string }> {
  const secret = randomBytes(32).toString('hex');
  return { ...(await createOutboundEndpoint(em, { organization, url: endpoint.url, secret, eventTypes: endpoint.eventTypes })), secret };
}
