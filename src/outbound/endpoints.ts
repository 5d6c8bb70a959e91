/** Adding an outbound endpoint, the same from the API and the admin command: validated input, a new secret. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { createOutboundEndpoint, OUTBOUND_EVENT_FILTERS, outboundSecretPlace, type OutboundEndpoint } from '../database/outbound-webhooks';
import { DestinationRefused, type DestinationRefusal, type OutboundDestinations } from '../outbound-destinations';

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

export interface OutboundEndpointRules {
  /** its URL must be a public destination now (and is checked again at every attempt) */
  destinations: OutboundDestinations;
  maxPerOrganization: number;
  /** seals the secret for the endpoint's row (its id); unset: stored in clear (no CONNECTION_ENCRYPTION_KEY) */
  sealSecret?: (secret: string, endpointId: string) => string;
}

/** Seals each new secret for its own row with the box (src/connections/secret-box.ts), when there is one. */
export function secretSealing(box: { seal(plain: string, associatedData: string): string } | undefined): OutboundEndpointRules['sealSecret'] {
  return box && ((secret, endpointId) => box.seal(secret, outboundSecretPlace(endpointId)));
}

export class OutboundEndpointRefused extends Error {
  override name = 'OutboundEndpointRefused';
  constructor(
    readonly code: DestinationRefusal | 'outbound_endpoint_limit_reached',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The endpoint and its signing secret, which is shown only this once. Throws OutboundEndpointRefused when its
 * destination is not allowed (its host name is resolved now) or its organization has as many endpoints as allowed.
 */
export async function addOutboundEndpoint(
  em: EntityManager,
  organization: string,
  endpoint: NewOutboundEndpoint,
  { destinations, maxPerOrganization, sealSecret }: OutboundEndpointRules,
): Promise<OutboundEndpoint & { secret: string }> {
  try {
    await destinations.check(endpoint.url);
  } catch (error) {
    if (error instanceof DestinationRefused) throw new OutboundEndpointRefused(error.code, error.message);
    throw error;
  }
  const id = randomUUID();
  const secret = randomBytes(32).toString('hex');
  const stored = sealSecret ? sealSecret(secret, id) : secret;
  const created = await createOutboundEndpoint(em, { id, organization, url: endpoint.url, secret: stored, eventTypes: endpoint.eventTypes }, maxPerOrganization);
  if (!created) {
    throw new OutboundEndpointRefused(
      'outbound_endpoint_limit_reached',
      `This organization has ${maxPerOrganization} endpoints, the most allowed: remove one, then add another`,
    );
  }
  return { ...created, secret };
}
