/**
 * Calendly API v2 client. Requests go to the configured base URL only: URIs found in webhook payloads are reduced
 * to their uuids, so the API token is never sent to a host named by a payload.
 */
import { z } from 'zod';
import {
  apiErrorSchema,
  inviteeSchema,
  resourceOf,
  scheduledEventSchema,
  uuidOf,
  type Invitee,
  type ScheduledEvent,
} from './schemas';

export class CalendlyApiError extends Error {
  override name = 'CalendlyApiError';
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    /** from X-RateLimit-Reset on a 429: seconds until requests are allowed again */
    readonly retryAfterSeconds?: number,
  ) {
    super(`Calendly API ${status} ${title}: ${message}`);
  }
}

/** The response did not have the documented shape. */
export class CalendlyResponseError extends Error {
  override name = 'CalendlyResponseError';
}

export interface CalendlyApiClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export class CalendlyApiClient {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor({ baseUrl, token, timeoutMs = 15_000 }: CalendlyApiClientOptions) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  async getScheduledEvent(eventUri: string): Promise<ScheduledEvent> {
    const path = `/scheduled_events/${encodeURIComponent(uuidOf(eventUri))}`;
    return (await this.request('GET', path, resourceOf(scheduledEventSchema))).resource;
  }

  async getInvitee(inviteeUri: string): Promise<Invitee> {
    const segments = new URL(inviteeUri).pathname.split('/').filter(Boolean);
    const [eventUuid, inviteeUuid] = [segments.at(-3), segments.at(-1)];
    if (segments.at(-2) !== 'invitees' || !eventUuid || !inviteeUuid) throw new CalendlyResponseError(`not an invitee URI: ${inviteeUri}`);
    const path = `/scheduled_events/${encodeURIComponent(eventUuid)}/invitees/${encodeURIComponent(inviteeUuid)}`;
    return (await this.request('GET', path, resourceOf(inviteeSchema))).resource;
  }

  private async request<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) throw errorFrom(response, text);
    const parsed = schema.safeParse(text ? JSON.parse(text) : undefined);
    if (!parsed.success) {
      throw new CalendlyResponseError(`unexpected response to ${method} ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }
}

function errorFrom(response: Response, text: string): CalendlyApiError {
  let title = response.statusText;
  let message = text.slice(0, 500);
  try {
    const body = apiErrorSchema.parse(JSON.parse(text));
    title = body.title;
    message = [body.message, ...(body.details ?? []).map((detail) => detail.message)].join(' ');
  } catch {
    // Not Calendly's documented error body (e.g. a proxy's HTML page): keep the raw text.
  }
  const reset = Number(response.headers.get('x-ratelimit-reset'));
  return new CalendlyApiError(response.status, title, message, Number.isFinite(reset) && reset > 0 ? reset : undefined);
}
