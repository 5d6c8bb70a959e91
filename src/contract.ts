/**
 * What crosses the Temporal boundary, in one place: workflow inputs and results, signals and queries, search
 * attributes and the activities workflows may call. Workflow code imports only this module (and other workflow code),
 * so it must stay free of side effects: type imports, and values from @temporalio/workflow and @temporalio/common.
 * Workflows themselves are started by function reference (see workflows/index.ts).
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HandledEventName, Invitee, RoutingFormSubmission, ScheduledEvent, WebhookSubscription } from './calendly/schemas';

// --- Search attributes -------------------------------------------------------------------------------------------

/**
 * Custom search attributes that let ops find a booking's workflows in the Web UI, e.g.
 * `CalendlyInviteeEmail = "ada@example.com"` or `CalendlyEventUuid = "<scheduled event uuid>"`.
 * Registered by the start command (dev server) and by the namespace job in docker-compose.yml.
 */
export const INVITEE_EMAIL = defineSearchAttributeKey('CalendlyInviteeEmail', SearchAttributeType.KEYWORD);
export const EVENT_UUID = defineSearchAttributeKey('CalendlyEventUuid', SearchAttributeType.KEYWORD);
export const DELIVERY_TYPE = defineSearchAttributeKey('CalendlyDeliveryType', SearchAttributeType.KEYWORD);
/** On meeting workflows: filter by `MeetingStart > "2026-12-01T00:00:00Z"` or `MeetingStatus = "active"`. */
export const MEETING_START = defineSearchAttributeKey('MeetingStart', SearchAttributeType.DATETIME);
export const MEETING_STATUS = defineSearchAttributeKey('MeetingStatus', SearchAttributeType.KEYWORD);
/** The connection (id) a delivery, sync or check belongs to: `CalendlyConnection = "<id>"` shows one customer's workflows. */
export const CALENDLY_CONNECTION = defineSearchAttributeKey('CalendlyConnection', SearchAttributeType.KEYWORD);

/** Name and CLI type of each attribute, for `temporal server start-dev --search-attribute Name=Type`. */
export const SEARCH_ATTRIBUTES = [
  { name: INVITEE_EMAIL.name, cliType: 'Keyword' },
  { name: EVENT_UUID.name, cliType: 'Keyword' },
  { name: DELIVERY_TYPE.name, cliType: 'Keyword' },
  { name: MEETING_START.name, cliType: 'Datetime' },
  { name: MEETING_STATUS.name, cliType: 'Keyword' },
  { name: CALENDLY_CONNECTION.name, cliType: 'Keyword' },
] as const;

// --- Deliveries: handed to keepMeetingReminders, or kept by keepUnprocessed ------------------------------------------

/** webhook: signed by Calendly; replay: a kept webhook fed through again; backfill: read from the Calendly API */
export type DeliverySource = 'webhook' | 'replay' | 'backfill';

/** A delivery about one invitee that this system turns into a lead and a meeting. */
export interface InviteeDelivery {
  /** the delivery log row, also the trackingId the receiver answered with */
  deliveryId: string;
  /** one per invitee and event type: a redelivery of the same change has the same key */
  dedupKey: string;
  eventName: HandledEventName;
  format: 'current' | 'legacy';
  scheduledEventUri: string;
  inviteeUri: string;
  /** null when a minimal no-show payload carried only the invitee's URI */
  inviteeEmail: string | null;
  /** when the change happened in Calendly (the envelope's created_at, if known); orders no-show marks and unmarks */
  occurredAt: string | null;
  receivedAt: string;
  source: DeliverySource;
  /**
   * the connection it came through. Inputs and results recorded before every account was a connection carry none:
   * activities read that as the personal token connection (recordedConnectionId in src/workflow-ids.ts).
   */
  connectionId: string;
}

/** A signed delivery that could not be processed (malformed or an event type not handled yet): kept raw for replay. */
export interface UnprocessedDelivery {
  deliveryId: string;
  dedupKey: string;
  eventName: string | null;
  reason: string;
  rawBody: string;
  receivedAt: string;
  connectionId: string;
}

/**
 * A signed `routing_form_submission.created`: the submission as Calendly sent it (organization scope, so it names no
 * user), turned into the organization's lead of its email answer. One per submission: a redelivery has the same key.
 */
export interface RoutingFormSubmissionDelivery {
  deliveryId: string;
  dedupKey: string;
  eventName: 'routing_form_submission.created';
  submission: RoutingFormSubmission;
  /** the delivery as received, kept on its log row so that a failed one can be replayed */
  rawBody: string;
  receivedAt: string;
  source: Exclude<DeliverySource, 'backfill'>;
  connectionId: string;
}

export type DeliveryOutcomeSummary =
  | { outcome: 'processed'; leadId: string; meetingId: string }
  /** a routing form submission: leadId null when it had no email answer; meetingId null until it led to a booking */
  | { outcome: 'processed'; submissionId: string; leadId: string | null; meetingId: string | null }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'unprocessed'; reason: string };

/** An invitee and its scheduled event, as read from the Calendly API. */
export interface Booking {
  event: ScheduledEvent;
  invitee: Invitee;
}

export interface FetchedBookings {
  /** the delivery's invitee first, then the other side of a reschedule (old or new invitee) if there is one */
  bookings: Booking[];
  /** whose bookings these are: the connection's organization */
  organization: string;
  /** the connection they were read through */
  connectionId: string;
}

export interface SavedRoutingFormSubmission {
  submissionId: string;
  /** null: no email answer, so no lead */
  leadId: string | null;
  meetingId: string | null;
  /** false: known already (a redelivery, or a sync that found it again): nothing was announced */
  created: boolean;
}

export interface SavedBooking {
  leadId: string;
  meetingId: string;
  inviteeUri: string;
}

/** A no-show mark or unmark, ordered by when it happened in Calendly. */
export interface NoShowChange {
  inviteeUri: string;
  noShowAt: string | null;
  occurredAt: string;
}

// --- Meetings: keepMeetingReminders ------------------------------------------------------------------------------

export type MeetingStatus = 'active' | 'canceled' | 'rescheduled';

/** See src/database/entities/reminder.ts for what each state means. */
export type ReminderState = 'scheduled' | 'sent' | 'canceled' | 'skipped';

/** The meeting as stored, sent to its workflow after every change. */
export interface MeetingSnapshot {
  meetingId: string;
  inviteeUri: string;
  inviteeEmail: string;
  eventUuid: string;
  status: MeetingStatus;
  startTime: string;
}

export interface PlannedReminder {
  reminderId: string;
  offsetSeconds: number;
  fireAt: string;
  state: ReminderState;
}

/**
 * The meeting's workflow is the booking's only one: a delivery starts it (update-with-start, with no meeting yet: the
 * first delivery brings it) or is handed to the running one. A delivery of the shape before December 2026 started it
 * with the meeting as stored (a reschedule's other side is only signalled, when its workflow runs).
 */
export interface MeetingRemindersInput {
  /** the meeting as stored; unset when a delivery started the workflow */
  meeting?: MeetingSnapshot;
  /** set with `meeting` when the workflow plans its reminders itself; a delivery's processing plans them otherwise */
  offsetsSeconds?: number[];
  /** also POST each reminder to the configured reminder webhook */
  sendOutbound?: boolean;
  /** planned by whoever starts the workflow, or carried over by continue-as-new; unset: the workflow plans them */
  reminders?: PlannedReminder[];
  undeliveredOutbound?: string[];
  /** continue as new past this many history events (the server's own suggestion also counts) */
  maxHistoryEvents?: number;
  /** the deliveries it took (dedup key -> delivery id), carried over by continue-as-new so a redelivery stays a duplicate */
  takenDeliveries?: Record<string, string>;
}

/** Returned by the workflow's `plan` query and as its result; null while no delivery brought the meeting yet. */
export interface MeetingPlan {
  status: MeetingStatus;
  startTime: string;
  nextReminder: PlannedReminder | null;
  reminders: PlannedReminder[];
}

/** Sent to a meeting's workflow when another delivery changed the meeting (a reschedule's other side). */
export const meetingChanged = defineSignal<[MeetingSnapshot]>('meetingChanged');
/** The meeting's reminders and the next one due, for the Web UI's Queries tab. */
export const plan = defineQuery<MeetingPlan | null>('plan');

/**
 * Hands a delivery about the meeting's invitee to its workflow (update-with-start; the update ID comes from the dedup
 * key). Completed as soon as it is accepted, durable in the workflow's history: the receiver acknowledges then.
 */
export const deliverToMeeting = defineUpdate<DeliveryTaken, [InviteeDelivery]>('deliverToMeeting');

/**
 * `deliveryId`: the delivery the workflow took under this dedup key. Another one than the caller's means the caller's is
 * a duplicate (Temporal answers a repeated update ID with the first update's result).
 */
export interface DeliveryTaken {
  deliveryId: string;
}

/** The delivery's meeting as its workflow keeps it, after the delivery was processed. */
export interface KeptMeeting {
  meeting: MeetingSnapshot;
  /** planned while the meeting is active; null once it ended */
  reminders: PlannedReminder[] | null;
  sendOutbound: boolean;
}

/**
 * What processing one delivery did. `meeting`: the invitee's meeting as stored, when this workflow keeps it (also after a
 * failed cancel, which still cancels it); null when the delivery stored none.
 */
export type ProcessedDelivery =
  | { outcome: 'processed'; leadId: string; meetingId: string; meeting: KeptMeeting | null }
  | { outcome: 'failed'; reason: string; failureType: string | null; meeting: KeptMeeting | null };

// --- Self-healing schedules: reconcileBookings and checkWebhookSubscription ---------------------------------------

export interface ReconcileWindow {
  /** events that started up to this many hours ago */
  lookBackHours: number;
  /** events starting up to this many days ahead */
  lookAheadDays: number;
  /** the connection whose bookings to reconcile */
  connectionId: string;
}

/** One connection, of any kind. */
export interface ConnectionRef {
  connectionId: string;
}

/** ISO date-times: the workflow computes the window from its own clock. */
export interface BackfillWindow {
  from: string;
  to: string;
}

export interface SyncSummary {
  events: number;
  invitees: number;
  /** workflows started: bookings (or cancellations) this system did not know */
  started: number;
  alreadyKnown: number;
  /** dry run: workflows it would try to start */
  wouldStart: number;
  /** records Calendly returned that failed validation (or name no valid invitee): reported and left out */
  skipped: number;
  /**
   * routing form submissions read (submitted since the window's start) and how many were new; null when Calendly
   * refused to list routing forms (no routing_forms:read): recorded on the connection, the sync goes on
   */
  routingFormSubmissions?: { read: number; created: number } | null;
}

export type SubscriptionProblem =
  /** nothing delivers to our URL */
  | 'missing'
  /** Calendly gave up after 24 h of failed deliveries; it cannot be re-enabled, only re-created */
  | 'disabled'
  /** ours does not listen to exactly SUBSCRIBED_EVENTS (or HANDLED_EVENTS, where the routing form event was refused) */
  | 'wrong-events'
  /** ours is active but deliveries fail and Calendly is retrying them: it will be disabled unless the receiver answers */
  | 'failing'
  /** subscriptions at other URLs receive invitee events too (e.g. an old frontend URL) */
  | 'other-subscriptions';

export interface SubscriptionInspection {
  organization: string;
  /** the user the API token belongs to */
  user: string;
  callbackUrl: string;
  /** Calendly refused the routing form event to this connection before: ours listening to HANDLED_EVENTS alone is right */
  withoutRoutingForms: boolean;
  /** the subscription at our URL, if any, right or not */
  ours: WebhookSubscription | null;
  /** at other URLs, receiving at least one invitee event */
  others: WebhookSubscription[];
  /** most urgent first; empty when connected */
  problems: SubscriptionProblem[];
  /** ours is missing, disabled or listens to the wrong events: re-creating it fixes that */
  repairable: boolean;
}

export type ReconnectStep =
  | { action: 'create'; url: string }
  | { action: 'delete'; subscription: WebhookSubscription; reason: string };

export interface ReconnectResult {
  /** false when already connected: nothing was (or, in a dry run, would be) changed */
  changed: boolean;
  /** what was done, or in a dry run what would be done, in that order */
  steps: ReconnectStep[];
  /** the right subscription at the end; null in a dry run that would create it */
  subscription: WebhookSubscription | null;
  inspection: SubscriptionInspection;
}

export interface SubscriptionCheckResult {
  /** what was wrong when checked; empty when connected */
  problems: SubscriptionProblem[];
  repaired: boolean;
  /** the subscription at our URL after the check */
  subscriptionUri: string | null;
}

// --- Connections: setUpConnection and disconnectConnection --------------------------------------------------------

export interface ConnectionSetUp {
  connectionId: string;
  /** the first sync feeds events starting from here (ISO), and everything ahead */
  syncFrom: string;
}

export interface ConnectionSetUpResult {
  /** active, or why Calendly delivers nothing (e.g. upgrade_required on a free plan: bookings then come by polling) */
  webhookState: string;
  sync: SyncSummary;
}

export interface ConnectionTeardown {
  connectionId: string;
  reason: string;
}

// --- Retention: pruneExpiredRecords (its own schedule) -----------------------------------------------------------

/** How long the delivery log (with the refusal counts) and the outbox are kept, in days. */
export interface RetentionPolicy {
  deliveryLogRetentionDays: number;
  outboxRetentionDays: number;
}

/** ISO date-times: the workflow computes them from its own clock. */
export interface RetentionCutoffs {
  /** `processed`, `rejected` and `replayed` deliveries, and refusal counts, older than this go */
  deliveriesBefore: string;
  /** `failed` deliveries last changed before this go (`processing` and `unprocessed` ones are never deleted) */
  failedDeliveriesBefore: string;
  outboxEventsBefore: string;
}

/** Rows deleted, per table. */
export interface RetentionSummary {
  deliveries: number;
  refusals: number;
  outboxEvents: number;
}

// --- Outbound event webhooks: deliverEndpointEvents (one per endpoint, its events in order) ------------------------

/** The bounded retry schedule of an outbound delivery, from configuration (OUTBOUND_WEBHOOK_*). */
export interface OutboundRetrySchedule {
  maximumAttempts: number;
  initialIntervalSeconds: number;
  maximumIntervalSeconds: number;
}

export interface OutboundDeliveryInput {
  /** the `outbound_deliveries` row, also the Idempotency-Key its endpoint receives */
  deliveryId: string;
  retry: OutboundRetrySchedule;
}

/** delivered: the endpoint answered 2xx; dead: it refused for good or the attempts ran out (replayable). */
export interface OutboundDeliveryResult {
  deliveryId: string;
  state: 'delivered' | 'dead';
}

export interface EndpointDeliveryInput {
  endpointId: string;
  /** the endpoint's organization, for logs */
  organization: string;
  retry: OutboundRetrySchedule;
  /** a wake-up signal came before this run began (Signal-With-Start, or carried over by continue-as-new) */
  woken?: boolean;
}

/**
 * What one pass over an endpoint's pending deliveries ended on: none left (`drained`), its time budget spent with
 * more to send (`more`), or the oldest one failed an attempt that may be retried (`retrying`): the ones after it wait,
 * so that the endpoint receives its events in order.
 */
export type EndpointBacklogResult =
  | { state: 'drained' | 'more'; delivered: number; dead: number }
  | { state: 'retrying'; delivered: number; dead: number; deliveryId: string; attempts: number };

/** Sent by the dispatcher (with start) when the endpoint has deliveries its workflow was not told of yet. */
export const outboundEventsWaiting = defineSignal('outboundEventsWaiting');

// --- Activities --------------------------------------------------------------------------------------------------

/**
 * Every activity the worker registers (implemented in activities). Activities run at least once: each one is
 * idempotent.
 */
export interface Activities {
  /**
   * One delivery about an invitee, for the meeting's workflow `workflowId`: logged, read from Calendly, stored as lead and
   * meeting, its reminders planned, and the other side of a reschedule told. Permanent failures are logged and returned.
   */
  processDelivery(delivery: InviteeDelivery, workflowId: string): Promise<ProcessedDelivery>;
  recordAcceptedDelivery(delivery: InviteeDelivery, workflowId: string): Promise<void>;
  /** `failureType`: with `failed`, the type of the ApplicationFailure that ended it (it labels a metric); null for another error */
  recordDeliveryOutcome(dedupKey: string, outcome: 'processed' | 'failed', detail: string | null, failureType?: string | null): Promise<void>;
  keepUnprocessedDelivery(delivery: UnprocessedDelivery, workflowId: string): Promise<void>;
  /**
   * A reschedule is two deliveries in no guaranteed order; reading the other side too (old_invitee or new_invitee)
   * makes either order end in the same state.
   */
  recordAcceptedFormDelivery(delivery: RoutingFormSubmissionDelivery, workflowId: string): Promise<void>;
  /** Stores the submission for the connection's organization with the lead of its email answer (and their outbox events). */
  saveRoutingFormSubmission(delivery: Pick<RoutingFormSubmissionDelivery, 'submission' | 'connectionId'>): Promise<SavedRoutingFormSubmission>;
  fetchBookings(delivery: Pick<InviteeDelivery, 'scheduledEventUri' | 'inviteeUri' | 'connectionId'>): Promise<FetchedBookings>;
  saveBookings(fetched: FetchedBookings, noShowChange?: NoShowChange): Promise<SavedBooking[]>;
  /**
   * After an `invitee.canceled` delivery failed for good: marks the invitee's meeting of the delivery's organization
   * (that of its connection) canceled from what is known. False when that organization holds no meeting for the invitee.
   */
  cancelMeetingOfFailedDelivery(inviteeUri: string, canceledAt: string, reason: string, connectionId: string): Promise<boolean>;
  /**
   * Starts the meeting's workflow (searchable by the delivery's connection), or tells the running one that the meeting
   * changed; the meeting is the one of the connection's organization.
   */
  syncMeetingReminders(inviteeUri: string, connectionId: string): Promise<void>;
  planReminders(meetingId: string, offsetsSeconds: number[]): Promise<PlannedReminder[]>;
  sendReminder(reminderId: string): Promise<ReminderState>;
  cancelReminders(meetingId: string): Promise<number>;
  deliverReminderWebhook(reminderId: string): Promise<void>;
  inspectWebhookSubscription(connection: ConnectionRef): Promise<SubscriptionInspection>;
  repairWebhookSubscription(connection: ConnectionRef): Promise<ReconnectResult>;
  /** Also records the sync's progress and end on the connection (status endpoint, dashboard). */
  backfillBookings(window: BackfillWindow, connection: ConnectionRef): Promise<SyncSummary>;
  /** Creates (or repairs) its subscription, or records why it cannot; returns the webhook state (`active` when Calendly delivers). */
  setUpConnectionSubscription(connectionId: string): Promise<string>;
  /** Creates or updates its reconcile and subscription-check schedules. */
  ensureConnectionSchedules(connectionId: string): Promise<void>;
  /** Deletes its subscription at Calendly, revokes its token, marks it disconnected and deletes its schedules. */
  tearDownConnection(teardown: ConnectionTeardown): Promise<void>;
  /** Deletes what is older than the cutoffs, in bounded batches, heartbeating after each. */
  deleteExpiredRecords(cutoffs: RetentionCutoffs): Promise<RetentionSummary>;
  /**
   * Of deliverOutboundEvent, which runs started before one workflow per endpoint still use.
   * One attempt at POSTing an outbound delivery to its endpoint; resolves once it is delivered (or was already).
   * A refusal that will not change (a 4xx other than 408 and 429, or the endpoint was removed) is non-retryable.
   */
  postOutboundDelivery(deliveryId: string): Promise<void>;
  /** The final failure: the delivery becomes dead, for ops to see and replay. */
  markOutboundDeliveryDead(deliveryId: string): Promise<void>;
  /**
   * The endpoint's pending deliveries, oldest first, one attempt each, for up to a time budget. A permanent refusal
   * or an attempt that is the last allowed (`maximumAttempts`) makes that delivery dead and the pass goes on; another
   * failed attempt ends the pass (see EndpointBacklogResult).
   */
  sendEndpointBacklog(endpointId: string, maximumAttempts: number): Promise<EndpointBacklogResult>;
}
