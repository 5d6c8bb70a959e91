import type {
  Cancellation,
  Invitee,
  Location,
  ScheduledEvent,
  Tracking,
  WebhookEventName,
  WebhookSubscription,
} from '../src/calendly/schemas';

export interface DeliveryRetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** How long a failing subscription is retried before it is disabled; Calendly: 24 h. */
  windowMs: number;
}

export interface FakeCalendlyOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The bearer token the REST API accepts; anything else answers 401. */
  apiToken: string;
  /** Default 500 (Calendly's paid plans). */
  rateLimitPerMinute?: number;
  deliveryRetry?: DeliveryRetryOptions;
}

export interface BookingInput {
  email: string;
  name?: string;
  firstName?: string | null;
  lastName?: string | null;
  /** ISO-8601 date-time. */
  startTime: string;
  /** Default: startTime + 30 minutes. */
  endTime?: string;
  timezone?: string;
  eventTypeName?: string;
  /** Default: a pushed Zoom conference with a join_url. */
  location?: Location;
  questionsAndAnswers?: { question: string; answer: string }[];
  tracking?: Partial<Tracking>;
  textReminderNumber?: string | null;
  /** Add this invitee to an existing scheduled event, which makes it a group event. */
  eventUri?: string;
  /** Default: the organization's user. */
  host?: { name: string; email: string };
}

export interface CancelInput {
  /** The canceler's name; default the invitee's (or the host's when cancelerType is host). */
  canceledBy?: string;
  reason?: string | null;
  /** Default `invitee`. */
  cancelerType?: Cancellation['canceler_type'];
}

export interface RescheduleInput {
  startTime: string;
  /** Default: startTime + the old event's duration. */
  endTime?: string;
}

export interface DeliverOptions {
  /** Default true: send the matching webhook to every active subscription that lists the event. */
  deliver?: boolean;
}

export interface RescheduleOptions extends DeliverOptions {
  /** Calendly does not document the order of the two deliveries; default `canceled-first`. */
  order?: 'canceled-first' | 'created-first';
}

export interface DeliveryAttempt {
  subscriptionUri: string;
  url: string;
  event: WebhookEventName;
  /** The receiver's HTTP status, or `network-error` (refused, reset, timed out). */
  status: number | 'network-error';
  /** 1 for the first attempt, then 2, 3, ... for retries. */
  attempt: number;
  at: string;
  body: string;
  /** The Calendly-Webhook-Signature header sent, null when the subscription has no signing key. */
  signature: string | null;
}

/** REST `InviteeNoShow` resource. */
export interface InviteeNoShow {
  uri: string;
  invitee: string;
  created_at: string;
}

export interface BookingResult {
  event: ScheduledEvent;
  invitee: Invitee;
  deliveries: DeliveryAttempt[];
}

export interface CancellationResult {
  event: ScheduledEvent;
  invitee: Invitee;
  deliveries: DeliveryAttempt[];
}

export interface RescheduleResult {
  oldInvitee: Invitee;
  oldEvent: ScheduledEvent;
  newEvent: ScheduledEvent;
  newInvitee: Invitee;
  deliveries: DeliveryAttempt[];
}

export interface NoShowResult {
  invitee: Invitee;
  noShow: InviteeNoShow;
  deliveries: DeliveryAttempt[];
}

export interface NoShowRemovalResult {
  invitee: Invitee;
  deliveries: DeliveryAttempt[];
}

export interface InjectedFailure {
  /** 401/403: as if the API token had been revoked or lacked a scope */
  status: 429 | 500 | 502 | 503 | 404 | 401 | 403;
  count: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
}

export interface FakeCalendly {
  /** Base URL, e.g. http://127.0.0.1:43211; resource URIs start with it, so they are fetchable. */
  url: string;
  organizationUri: string;
  userUri: string;
  close(): Promise<void>;

  bookMeeting(input: BookingInput, opts?: DeliverOptions): Promise<BookingResult>;
  cancelInvitee(inviteeUri: string, input?: CancelInput, opts?: DeliverOptions): Promise<CancellationResult>;
  rescheduleInvitee(inviteeUri: string, input: RescheduleInput, opts?: RescheduleOptions): Promise<RescheduleResult>;
  markNoShow(inviteeUri: string, opts?: DeliverOptions): Promise<NoShowResult>;
  unmarkNoShow(inviteeUri: string, opts?: DeliverOptions): Promise<NoShowRemovalResult>;

  webhookDelivery(
    event: WebhookEventName,
    inviteeUri: string,
    signingKey: string,
    t?: number,
  ): { body: string; signature: string };
  legacyWebhookBody(event: 'invitee.created' | 'invitee.canceled', inviteeUri: string): string;

  failNext(pathPrefix: string, response: InjectedFailure): void;
  deleteEvent(eventUri: string): void;
  /**
   * Test control: overwrites fields of a stored scheduled event or invitee as the API serves it, e.g. with a value
   * that fails validation (`{ email: '' }`), to see how a client copes with one malformed record.
   */
  corruptRecord(uri: string, fields: Record<string, unknown>): void;
  disableSubscription(subscriptionUri: string): void;
  subscriptions(): WebhookSubscription[];
  deliveryLog(): DeliveryAttempt[];
  requestLog(): RequestLogEntry[];
}
