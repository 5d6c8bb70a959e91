/**
 * Calendly API v2 client. Requests go to the configured base URL only: URIs found in webhook payloads are reduced
 * to their uuids, so the API token is never sent to a host named by a payload.
 */
import { z } from 'zod';
import type { Config } from '../config';
import {
  apiErrorSchema,
  cleanJson,
  collectionOf,
  inviteeSchema,
  resourceOf,
  routingFormSchema,
  routingFormSubmissionSchema,
  scheduledEventSchema,
  userSchema,
  uuidOf,
  webhookSubscriptionSchema,
  type Invitee,
  type Pagination,
  type RoutingForm,
  type RoutingFormSubmission,
  type ScheduledEvent,
  type User,
  type WebhookSubscription,
} from './schemas';
import { organizationLabel } from '../metrics';
import { calendlyApiRequests, calendlyAuthFailures, calendlyRateLimitWaits, endpointOf } from './metrics';

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

/** Called on a 429 instead of throwing: wait `retryAfterSeconds` (X-RateLimit-Reset), then the page is asked for again. */
export type RateLimitWait = (retryAfterSeconds: number, path: string) => Promise<void>;

/** A record of a page that failed validation, as reported to `PageOptions.onInvalidItem`: no values, only where. */
export interface InvalidItem {
  /** the page's path */
  path: string;
  index: number;
  /** the record's `uri`, when it has one */
  uri: string | null;
  /** the first problems, by field: `email: Too small…` */
  problem: string;
}

export interface PageOptions {
  whenRateLimited?: RateLimitWait;
  /**
   * Given, a record of a page that fails validation is reported to it and left out, and the rest of the page is
   * yielded; without it, such a page fails as a whole (CalendlyResponseError).
   */
  onInvalidItem?: (item: InvalidItem) => void;
  /** items per page, 1..100 (Calendly's default is 20) */
  count?: number;
}

export interface ScheduledEventQuery {
  organization: string;
  /** inclusive, by the event's start time: Calendly filters scheduled events by start time only */
  minStartTime?: string;
  /** exclusive */
  maxStartTime?: string;
  sort?: 'start_time:asc' | 'start_time:desc';
}

export type WebhookSubscriptionQuery = { organization: string; scope: 'organization' } | { organization: string; scope: 'user'; user: string };

export interface NewWebhookSubscription {
  url: string;
  events: readonly string[];
  organization: string;
  signingKey: string;
}

export interface CalendlyApiClientOptions {
  baseUrl: string;
  /** a personal access token, or (OAuth connections) a function giving a valid access token, refreshed as needed */
  token: string | (() => Promise<string>);
  /** told of a 401 before it is thrown: an OAuth connection is then marked as needing reauthorization */
  onUnauthorized?: (error: CalendlyApiError) => Promise<void>;
  timeoutMs?: number;
  /** whose token this is, for the metrics: an OAuth connection's organization; CALENDLY_API_TOKEN's client learns its own from GET /users/me */
  organization?: string;
}

/** The client of the personal token connection (CALENDLY_API_TOKEN), as the worker and the admin scripts use it. */
export function calendlyClientFrom(config: Pick<Config, 'calendly'>): CalendlyApiClient {
  const { apiToken } = config.calendly;
  if (!apiToken) throw new Error('CALENDLY_API_TOKEN is not set: this deployment uses OAuth connections only; pass --connection <id>');
  return new CalendlyApiClient({ baseUrl: config.calendly.apiBaseUrl, token: apiToken });
}

export class CalendlyApiClient {
  private readonly baseUrl: string;
  private readonly token: () => Promise<string>;
  private readonly onUnauthorized?: (error: CalendlyApiError) => Promise<void>;
  private readonly timeoutMs: number;
  private organization: string | undefined;

  constructor({ baseUrl, token, onUnauthorized, timeoutMs = 15_000, organization }: CalendlyApiClientOptions) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = typeof token === 'string' ? () => Promise.resolve(token) : token;
    this.onUnauthorized = onUnauthorized;
    this.timeoutMs = timeoutMs;
    this.organization = organization;
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

  async getCurrentUser(): Promise<User> {
    const user = (await this.request('GET', '/users/me', resourceOf(userSchema))).resource;
    this.organization ??= user.current_organization;
    return user;
  }

  /** Yields one page at a time. */
  listWebhookSubscriptions(query: WebhookSubscriptionQuery, options: PageOptions = {}): AsyncGenerator<WebhookSubscription[]> {
    return this.pages('/webhook_subscriptions', { ...query }, webhookSubscriptionSchema, options);
  }

  async createWebhookSubscription({ url, events, organization, signingKey }: NewWebhookSubscription): Promise<WebhookSubscription> {
    const body = { url, events, organization, scope: 'organization', signing_key: signingKey };
    return (await this.request('POST', '/webhook_subscriptions', resourceOf(webhookSubscriptionSchema), body)).resource;
  }

  async deleteWebhookSubscription(subscriptionUri: string): Promise<void> {
    await this.request('DELETE', `/webhook_subscriptions/${encodeURIComponent(uuidOf(subscriptionUri))}`, z.undefined());
  }

  /** Yields one page at a time. */
  listScheduledEvents(query: ScheduledEventQuery, options: PageOptions = {}): AsyncGenerator<ScheduledEvent[]> {
    const { organization, minStartTime, maxStartTime, sort } = query;
    const filters = { organization, min_start_time: minStartTime, max_start_time: maxStartTime, sort };
    return this.pages('/scheduled_events', filters, scheduledEventSchema, options);
  }

  /** Yields one page at a time. */
  listEventInvitees(eventUri: string, options: PageOptions = {}): AsyncGenerator<Invitee[]> {
    return this.pages(`/scheduled_events/${encodeURIComponent(uuidOf(eventUri))}/invitees`, {}, inviteeSchema, options);
  }

  /** Yields one page at a time; needs routing_forms:read (403 without it). */
  listRoutingForms(organization: string, options: PageOptions = {}): AsyncGenerator<RoutingForm[]> {
    return this.pages('/routing_forms', { organization }, routingFormSchema, options);
  }

  /** Yields one page at a time, newest first unless asked otherwise; needs routing_forms:read. */
  listRoutingFormSubmissions(
    form: string,
    options: PageOptions & { sort?: 'created_at:asc' | 'created_at:desc' } = {},
  ): AsyncGenerator<RoutingFormSubmission[]> {
    const { sort = 'created_at:desc', ...pageOptions } = options;
    return this.pages('/routing_form_submissions', { form, sort }, routingFormSubmissionSchema, pageOptions);
  }

  /**
   * Follows `next_page` by its path and query only: the host it names is never called, so the token stays with
   * the configured base URL.
   */
  private async *pages<T extends z.ZodType>(
    path: string,
    filters: Record<string, string | undefined>,
    itemSchema: T,
    { whenRateLimited, count = 100, onInvalidItem }: PageOptions,
  ): AsyncGenerator<z.infer<T>[]> {
    const query = new URLSearchParams({ count: String(count) });
    for (const [name, value] of Object.entries(filters)) if (value !== undefined) query.set(name, value);
    let next: string | null = `${path}?${query.toString()}`;
    while (next !== null) {
      const pagePath: string = next;
      const schema = onInvalidItem ? collectionOf(z.unknown()) : collectionOf(itemSchema);
      const page: { collection: unknown[]; pagination: Pagination } = await this.requestPage(pagePath, schema, whenRateLimited);
      yield onInvalidItem ? validItems(page.collection, itemSchema, pagePath, onInvalidItem) : (page.collection as z.infer<T>[]);
      next = page.pagination.next_page === null ? null : this.pathOf(page.pagination.next_page);
    }
  }

  private async requestPage<T extends z.ZodType>(path: string, schema: T, whenRateLimited: RateLimitWait | undefined): Promise<z.infer<T>> {
    for (;;) {
      try {
        return await this.request('GET', path, schema);
      } catch (error) {
        if (!whenRateLimited || !(error instanceof CalendlyApiError) || error.status !== 429) throw error;
        // Calendly documents X-RateLimit-Reset on every 429; 60 s is its usual window should it be missing.
        calendlyRateLimitWaits.inc({ organization: organizationLabel(this.organization) });
        await whenRateLimited(error.retryAfterSeconds ?? 60, path);
      }
    }
  }

  /** `https://api.calendly.com/scheduled_events?count=…&page_token=…` -> `/scheduled_events?count=…&page_token=…` */
  private pathOf(pageUrl: string): string {
    const url = new URL(pageUrl);
    const basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, '');
    const path = basePath && url.pathname.startsWith(`${basePath}/`) ? url.pathname.slice(basePath.length) : url.pathname;
    return `${path}${url.search}`;
  }

  private async request<T extends z.ZodType>(method: string, path: string, schema: T, body?: unknown): Promise<z.infer<T>> {
    const endpoint = endpointOf(path);
    const organization = organizationLabel(this.organization);
    const token = await this.token();
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      calendlyApiRequests.inc({ endpoint, status: 'error', organization });
      throw error;
    }
    calendlyApiRequests.inc({ endpoint, status: String(response.status), organization });
    if (response.status === 401 || response.status === 403) calendlyAuthFailures.inc({ status: String(response.status), organization });
    const text = await response.text();
    if (!response.ok) {
      const error = errorFrom(response, text);
      if (error.status === 401) await this.onUnauthorized?.(error);
      throw error;
    }
    let json: unknown;
    try {
      json = text ? cleanJson(JSON.parse(text)) : undefined;
    } catch {
      throw new CalendlyResponseError(`unexpected response to ${method} ${path}: not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new CalendlyResponseError(`unexpected response to ${method} ${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    }
    return parsed.data;
  }
}

function validItems<T extends z.ZodType>(items: unknown[], itemSchema: T, path: string, onInvalidItem: (item: InvalidItem) => void): z.infer<T>[] {
  const valid: z.infer<T>[] = [];
  items.forEach((item, index) => {
    const parsed = itemSchema.safeParse(item);
    if (parsed.success) {
      valid.push(parsed.data);
      return;
    }
    const uri = (item as { uri?: unknown } | null)?.uri;
    const problem = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`)
      .join('; ');
    onInvalidItem({ path, index, uri: typeof uri === 'string' ? uri : null, problem });
  });
  return valid;
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
