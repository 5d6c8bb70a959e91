/**
 * Turns the raw bytes of a signed delivery into what Temporal needs, or says why it cannot.
 * Both Calendly formats lead to the same InviteeDelivery: the current one (payload = invitee with
 * scheduled_event) and the retired v1 one (payload.event + payload.invitee identified by uuids).
 */
import { createHash } from 'node:crypto';
import {
  cleanJson,
  HANDLED_EVENTS,
  inviteeNoShowSchema,
  inviteePayloadSchema,
  legacyEnvelopeSchema,
  ROUTING_FORM_EVENT,
  routingFormSubmissionSchema,
  uuidOf,
  webhookEnvelopeSchema,
  type HandledEventName,
} from '../calendly/schemas';
import type { InviteeDelivery, RoutingFormSubmissionDelivery, UnprocessedDelivery } from '../contract';
import { connectionKeyPrefix } from '../workflow-ids';

export type ParsedDelivery =
  | ParsedInviteeDelivery
  | { kind: 'routing_form_submission'; delivery: Omit<RoutingFormSubmissionDelivery, 'deliveryId' | 'receivedAt' | 'source'> }
  | { kind: 'unprocessed'; delivery: Omit<UnprocessedDelivery, 'deliveryId' | 'receivedAt'> };

/** `meetingStart`: the scheduled event's start, when the delivery shows it (its meeting's workflow is found by it). */
export interface ParsedInviteeDelivery {
  kind: 'invitee';
  delivery: Omit<InviteeDelivery, 'deliveryId' | 'receivedAt' | 'source'>;
  eventUuid: string;
  inviteeUuid: string;
  meetingStart?: string;
}

const isHandled = (name: string): name is HandledEventName => (HANDLED_EVENTS as readonly string[]).includes(name);

/**
 * `apiBaseUrl` builds invitee URIs for legacy deliveries, which carry bare uuids. `connectionId`: the connection the
 * delivery was sent to; it scopes the dedup key.
 */
export function parseDelivery(rawBody: Buffer, apiBaseUrl: string, connectionId: string): ParsedDelivery {
  const text = rawBody.toString('utf8');
  const unprocessed = (reason: string, eventName: string | null = null): ParsedDelivery => ({
    kind: 'unprocessed',
    delivery: {
      dedupKey: scopedKey(connectionId, `unprocessed:${createHash('sha256').update(rawBody).digest('hex')}`),
      eventName,
      reason,
      rawBody: text,
      connectionId,
    },
  });

  let json: unknown;
  try {
    // Text PostgreSQL refuses (NUL) is cleaned here, at the edge, so that a booking carrying it is still stored.
    json = cleanJson(JSON.parse(text));
  } catch {
    return unprocessed('body is not valid JSON');
  }
  try {
    return parseJson(json, text, apiBaseUrl, connectionId, unprocessed);
  } catch (error) {
    // URIs or uuids that give no valid dedup key (no path, `..`): kept for replay rather than refused.
    if (error instanceof InvalidDeliveryError) return unprocessed(error.message, eventNameOf(json));
    throw error;
  }
}

function parseJson(
  json: unknown,
  rawBody: string,
  apiBaseUrl: string,
  connectionId: string,
  unprocessed: (reason: string, eventName?: string | null) => ParsedDelivery,
): ParsedDelivery {
  const current = webhookEnvelopeSchema.safeParse(json);
  if (current.success) {
    const { event: eventName, payload, created_at: occurredAt } = current.data;
    if (eventName === ROUTING_FORM_EVENT) {
      const submission = routingFormSubmissionSchema.safeParse(payload);
      if (!submission.success) return unprocessed(`invalid ${eventName} payload: ${summarize(submission.error)}`, eventName);
      const key = `${eventName}:${keyUuidOf(submission.data.uri, 'routing form submission')}`;
      return { kind: 'routing_form_submission', delivery: { dedupKey: scopedKey(connectionId, key), eventName, submission: submission.data, rawBody, connectionId } };
    }
    if (!isHandled(eventName)) return unprocessed(`event type ${eventName} is not handled yet`, eventName);
    const invitee = inviteePayloadSchema.safeParse(payload);
    if (invitee.success) {
      const { scheduled_event: event } = invitee.data;
      return { ...inviteeDelivery(eventName, 'current', event.uri, invitee.data.uri, invitee.data.email, occurredAt, connectionId), meetingStart: event.start_time };
    }
    const noShow = isNoShow(eventName) ? inviteeNoShowSchema.safeParse(payload) : undefined;
    if (noShow?.success) {
      const eventUri = eventUriOf(noShow.data.invitee);
      if (eventUri === noShow.data.invitee) throw new InvalidDeliveryError(`not an invitee URI: ${noShow.data.invitee}`);
      return inviteeDelivery(eventName, 'current', eventUri, noShow.data.invitee, null, occurredAt, connectionId);
    }
    return unprocessed(`invalid ${eventName} payload: ${summarize(invitee.error)}`, eventName);
  }

  const legacy = legacyEnvelopeSchema.safeParse(json);
  if (legacy.success) {
    const { event: eventName, payload } = legacy.data;
    if (!isHandled(eventName)) return unprocessed(`event type ${eventName} is not handled yet`, eventName);
    const eventUri = `${apiBaseUrl}/scheduled_events/${encodeURIComponent(payload.event.uuid)}`;
    const inviteeUri = `${eventUri}/invitees/${encodeURIComponent(payload.invitee.uuid)}`;
    return inviteeDelivery(eventName, 'legacy', eventUri, inviteeUri, payload.invitee.email, legacy.data.time, connectionId);
  }

  return unprocessed(`not a Calendly webhook envelope: ${summarize(current.error)}`, eventNameOf(json));
}

/** A delivery whose URIs or uuids give no valid dedup key, e.g. a URI without a path or a uuid of `..`. */
export class InvalidDeliveryError extends Error {
  override name = 'InvalidDeliveryError';
}

const MAX_UUID_LENGTH = 200;

/** The uuid a dedup key is made of: a URI's last path segment, never empty, `.` or `..`, nor with a `:` in it. */
function keyUuidOf(uri: string, what: string): string {
  let uuid: string;
  try {
    uuid = uuidOf(uri);
  } catch {
    throw new InvalidDeliveryError(`the ${what} URI has no uuid: ${uri}`);
  }
  // Temporal refuses workflow IDs over 1,000 characters; Calendly's uuids are a few dozen.
  if (uuid.length > MAX_UUID_LENGTH) throw new InvalidDeliveryError(`the ${what} URI's uuid is longer than ${MAX_UUID_LENGTH} characters`);
  // The URI must end in the uuid as written: `…/scheduled_events/..` would otherwise name another resource.
  if (uuid === '.' || uuid === '..' || uuid.includes(':') || !uri.replace(/\/+$/, '').endsWith(`/${uuid}`)) {
    throw new InvalidDeliveryError(`the ${what} URI has no valid uuid: ${uri}`);
  }
  return uuid;
}

/**
 * Also used to feed invitees found by the API (backfill) through the same dedup keys as webhooks.
 * Throws InvalidDeliveryError when the URIs give no valid dedup key.
 */
export function inviteeDelivery(
  eventName: HandledEventName,
  format: InviteeDelivery['format'],
  scheduledEventUri: string,
  inviteeUri: string,
  inviteeEmail: string | null,
  occurredAt: string | null,
  connectionId: string,
): ParsedInviteeDelivery {
  const eventUuid = keyUuidOf(scheduledEventUri, 'scheduled event');
  const inviteeUuid = keyUuidOf(inviteeUri, 'invitee');
  // An invitee is created and canceled once, but may be marked and unmarked as a no-show several times.
  const key = isNoShow(eventName) && occurredAt ? `${eventName}:${eventUuid}:${inviteeUuid}:${occurredAt}` : `${eventName}:${eventUuid}:${inviteeUuid}`;
  return {
    kind: 'invitee',
    delivery: { dedupKey: scopedKey(connectionId, key), eventName, format, scheduledEventUri, inviteeUri, inviteeEmail, occurredAt, connectionId },
    eventUuid,
    inviteeUuid,
  };
}

/** A connection's keys start with its id, but for the personal token connection's (see connectionKeyPrefix). */
const scopedKey = (connectionId: string, key: string) => `${connectionKeyPrefix(connectionId, ':')}${key}`;

const isNoShow = (eventName: string) => eventName.startsWith('invitee_no_show.');

/** `…/scheduled_events/{event}/invitees/{invitee}` -> `…/scheduled_events/{event}` */
function eventUriOf(inviteeUri: string): string {
  return inviteeUri.replace(/\/invitees\/[^/]+\/?$/, '');
}

function eventNameOf(json: unknown): string | null {
  const event = (json as { event?: unknown } | null)?.event;
  return typeof event === 'string' ? event : null;
}

function summarize(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Readable, typeable in the Web UI search: `calendly-invitee.created-<event uuid>-<invitee uuid>`. */
export function workflowIdFor(dedupKey: string): string {
  return `calendly-${dedupKey.replaceAll(':', '-')}`;
}
