import type {
  Cancellation,
  Invitee,
  Location,
  Payment,
  RoutingFormSubmission,
  ScheduledEvent,
  Tracking,
  User,
  WebhookEventName,
  WebhookSubscription,
} from '../src/calendly/schemas';

export interface DeliveryRetryOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** How long a failing subscription is retried before it is disabled; Calendly: 24 h. */
  windowMs: number;
}

export type Plan = 'standard' | 'free';
/** Calendly's organization roles: the owner and admins see and subscribe to the whole organization. */
export type Role = 'owner' | 'admin' | 'user';

/** The OAuth app the fake's auth endpoints (`/oauth/...`) know: Calendly registers one per developer app. */
export interface OAuthAppOptions {
  clientId: string;
  clientSecret: string;
  /** Exact-match allow list, as registered with the app. */
  redirectUris: string[];
  /**
   * The app's webhook signing key (Calendly generates one per OAuth app): signs deliveries of subscriptions made with
   * an OAuth token and no `signing_key` of their own. Default: none (unsigned, as before).
   */
  webhookSigningKey?: string;
  /** Granted when the authorize URL names no `scope`; default `default`. */
  scope?: string;
  /** Default 7200 (Calendly: 2 hours); see also `setAccessTokenLifetime`. */
  accessTokenLifetimeSeconds?: number;
}

export interface GrantSummary {
  /** Opaque id of one authorization (one code exchange and the refreshes that follow it). */
  id: string;
  /** The user who allowed the app. */
  owner: string;
  organization: string;
  scope: string;
  createdAt: string;
  revokedAt: string | null;
  /** Successful refresh_token grants. */
  refreshes: number;
}

export interface OAuthStats {
  /** Every POST /oauth/token, successful or not. */
  tokenRequests: number;
  /** Successful refreshes summed per owner (user URI). */
  refreshesByOwner: Record<string, number>;
  grants: GrantSummary[];
}

export interface FakeOrganization {
  uri: string;
  plan: Plan;
  users: { user: User; role: Role }[];
}

export interface FakeCalendlyOptions {
  /** 0 = ephemeral (default). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * A personal access token of the default organization's owner (`userUri`); other tokens: `issuePersonalAccessToken`
   * or OAuth. Required unless `oauth` is given.
   */
  apiToken?: string;
  oauth?: OAuthAppOptions;
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
  /** Default: the organization's owner. A new email becomes a user of the organization. */
  host?: { name: string; email: string };
  /** An existing user as host; the booking then belongs to that user's organization. */
  hostUri?: string;
  /** Default: the default organization (`FakeCalendly.organizationUri`), or the organization of `hostUri`. */
  organization?: string;
  /** A paid booking: the invitee's `payment` (default provider stripe, successful, no terms); a reschedule keeps it. */
  payment?: PaymentInput;
}

export type PaymentInput = Pick<Payment, 'amount' | 'currency'> & Partial<Pick<Payment, 'provider' | 'successful' | 'terms'>>;

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

export interface RoutingFormSubmissionInput {
  /** Default: the default organization. */
  organization?: string;
  /** The organization's form of this name (created on first use); default `Contact us`. */
  formName?: string;
  answers: { question: string; answer: string }[];
  tracking?: Partial<Tracking>;
  /** The submitter books right after (the booking's organization is the form's): the invitee names the submission. */
  booking?: Omit<BookingInput, 'organization' | 'eventUri'>;
}

export interface RoutingFormSubmissionOptions extends DeliverOptions {
  /** With a booking: whose webhook is sent first; default `submission-first` (submitted, then booked). */
  order?: 'submission-first' | 'booking-first';
}

export interface RoutingFormSubmissionResult {
  submission: RoutingFormSubmission;
  /** the booking it led to, if any */
  booking: { event: ScheduledEvent; invitee: Invitee } | null;
  deliveries: DeliveryAttempt[];
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
  /** The default organization (plan standard), where bookings go unless another is named. */
  organizationUri: string;
  /** Its owner, whose personal access token is the `apiToken` option. */
  userUri: string;
  close(): Promise<void>;

  /** A new organization with its owner (default plan standard). */
  createOrganization(input: { owner: { name: string; email: string }; plan?: Plan }): {
    organizationUri: string;
    owner: User;
  };
  /** A new user (default role `user`) of an organization; emails are unique across the fake. */
  addUser(organizationUri: string, person: { name: string; email: string }, role?: Exclude<Role, 'owner'>): User;
  setPlan(organizationUri: string, plan: Plan): void;
  organizations(): FakeOrganization[];
  /** A new personal access token acting as `userUri`. */
  issuePersonalAccessToken(userUri: string): string;

  /**
   * What the consent page does when `userUri` clicks "Allow" on `authorizeUrl` (a GET /oauth/authorize URL): the
   * redirect URL with `code` and `state`, or with `error` for a bad request that may be redirected. Throws
   * `OAuthError` for an unknown client_id or a redirect_uri that is not registered (never redirected).
   */
  authorize(authorizeUrl: string, userUri: string): string;
  /** For access tokens issued from now on (`expires_in`). */
  setAccessTokenLifetime(seconds: number): void;
  /** Access tokens already issued (to `userUri`, or all) expire now; returns how many. */
  expireAccessTokens(userUri?: string): number;
  /** The user disconnects the app in Calendly: their grants' access and refresh tokens stop working; returns how many. */
  revokeGrants(userUri: string): number;
  oauthStats(): OAuthStats;

  bookMeeting(input: BookingInput, opts?: DeliverOptions): Promise<BookingResult>;
  cancelInvitee(inviteeUri: string, input?: CancelInput, opts?: DeliverOptions): Promise<CancellationResult>;
  rescheduleInvitee(inviteeUri: string, input: RescheduleInput, opts?: RescheduleOptions): Promise<RescheduleResult>;
  markNoShow(inviteeUri: string, opts?: DeliverOptions): Promise<NoShowResult>;
  unmarkNoShow(inviteeUri: string, opts?: DeliverOptions): Promise<NoShowRemovalResult>;
  /**
   * Someone submits a routing form (and books, with `booking`): `routing_form_submission.created` goes to the
   * organization's organization-scope subscriptions that list it.
   */
  submitRoutingForm(input: RoutingFormSubmissionInput, opts?: RoutingFormSubmissionOptions): Promise<RoutingFormSubmissionResult>;
  /** false: the organization's tokens are refused routing forms (403), as without `routing_forms:read`. */
  setRoutingFormsAvailable(organizationUri: string, available: boolean): void;

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
