/**
 * Calendly's payload and resource shapes, written once, as documented in the API reference
 * (https://developer.calendly.com/api-docs) and the webhooks guide (https://developer.calendly.com/docs/webhooks/overview).
 * The receiver validates webhook bodies with these schemas, the API client validates responses with them,
 * and the fake Calendly API builds its responses from the same types.
 *
 * Schemas check what this system relies on and let unknown keys through: Calendly adds fields over time.
 */
import { z } from 'zod';

const uri = z.url();
const timestamp = z.iso.datetime({ offset: true });
const nullableString = z.string().nullable();

export const WEBHOOK_EVENTS = [
  'invitee.created',
  'invitee.canceled',
  'invitee_no_show.created',
  'invitee_no_show.deleted',
  'routing_form_submission.created',
  'event_type.created',
  'event_type.updated',
  'event_type.deleted',
  'meeting_recap.created',
  'meeting_recap.updated',
  'meeting_recap.deleted',
  'contact.created',
  'contact.updated',
  'contact.deleted',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** The deliveries this system turns into leads and meetings; every other signed delivery is kept for replay. */
export const HANDLED_EVENTS = [
  'invitee.created',
  'invitee.canceled',
  'invitee_no_show.created',
  'invitee_no_show.deleted',
] as const satisfies readonly WebhookEventName[];
export type HandledEventName = (typeof HANDLED_EVENTS)[number];

/** Someone submitted a routing form, booked or not: turned into a lead. Calendly allows it in organization scope only. */
export const ROUTING_FORM_EVENT = 'routing_form_submission.created' satisfies WebhookEventName;

/**
 * What our subscription listens to. Without routing_forms:read (or on a plan without routing forms) Calendly refuses
 * the routing form event: the subscription then listens to HANDLED_EVENTS only (see src/subscriptions/reconnect.ts).
 */
export const SUBSCRIBED_EVENTS = [...HANDLED_EVENTS, ROUTING_FORM_EVENT] as const satisfies readonly WebhookEventName[];

export const trackingSchema = z.object({
  utm_campaign: nullableString,
  utm_source: nullableString,
  utm_medium: nullableString,
  utm_content: nullableString,
  utm_term: nullableString,
  salesforce_uuid: nullableString,
});
export type Tracking = z.infer<typeof trackingSchema>;

export const questionAndAnswerSchema = z.object({
  question: z.string(),
  answer: z.string(),
  position: z.number().int(),
});
export type QuestionAndAnswer = z.infer<typeof questionAndAnswerSchema>;

export const cancellationSchema = z.object({
  canceled_by: z.string(),
  reason: nullableString,
  canceler_type: z.enum(['host', 'invitee']),
  created_at: timestamp,
});
export type Cancellation = z.infer<typeof cancellationSchema>;

/** The currencies Calendly documents for a payment; `paymentSchema` accepts any ISO 4217 code, should it add one. */
export const PAYMENT_CURRENCIES = ['AUD', 'CAD', 'EUR', 'GBP', 'USD'] as const;

/**
 * The invitee's payment (null unless the event type takes payments). `amount` is documented as a float and seen as a
 * number or a decimal string; it is kept as given and stored as a numeric. Bounded, so that a broken or hostile
 * amount cannot overflow the sums of the business counters.
 */
export const paymentSchema = z.looseObject({
  external_id: z.string(),
  provider: z.string().min(1).max(50).meta({ description: '`stripe` or `paypal`' }),
  amount: z.union([
    z.number().min(0).max(1e12),
    z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a decimal amount, e.g. 49.90'),
  ]),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code, e.g. USD'),
  terms: nullableString,
  successful: z.boolean(),
});
export type Payment = z.infer<typeof paymentSchema>;

/** One of physical, zoom, google_conference, ... keyed by `type`; stored as given. */
export const locationSchema = z.looseObject({ type: z.string() });
export type Location = z.infer<typeof locationSchema>;

const eventMembershipSchema = z.looseObject({
  user: uri,
  user_email: z.string().nullish(),
  user_name: z.string().nullish(),
});
export type EventMembership = z.infer<typeof eventMembershipSchema>;

const scheduledEventFields = {
  uri,
  name: nullableString,
  status: z.enum(['active', 'canceled']),
  start_time: timestamp,
  end_time: timestamp,
  event_type: uri,
  location: locationSchema,
  invitees_counter: z.object({ total: z.number().int(), active: z.number().int(), limit: z.number().int() }),
  created_at: timestamp,
  updated_at: timestamp,
  event_memberships: z.array(eventMembershipSchema),
  event_guests: z.array(z.looseObject({ email: z.string() })),
  meeting_notes_plain: nullableString.optional(),
  meeting_notes_html: nullableString.optional(),
  cancellation: cancellationSchema.optional(),
};

/** REST `GET /scheduled_events/{uuid}` resource. */
export const scheduledEventSchema = z.looseObject(scheduledEventFields);
export type ScheduledEvent = z.infer<typeof scheduledEventSchema>;

const inviteeFields = {
  uri,
  email: z.string().min(1),
  first_name: nullableString,
  last_name: nullableString,
  name: z.string(),
  status: z.enum(['active', 'canceled']),
  questions_and_answers: z.array(questionAndAnswerSchema),
  timezone: nullableString,
  event: uri,
  created_at: timestamp,
  updated_at: timestamp,
  tracking: trackingSchema,
  text_reminder_number: nullableString,
  rescheduled: z.boolean(),
  old_invitee: uri.nullable(),
  new_invitee: uri.nullable(),
  cancel_url: uri,
  reschedule_url: uri,
  routing_form_submission: uri.nullable(),
  // A payment of a shape not documented (a new field type, say) must not cost the booking: it is read as none, and the
  // meeting is valued from the configured amounts.
  payment: paymentSchema.nullable().catch(null),
  no_show: z.object({ uri, created_at: timestamp }).nullable(),
  reconfirmation: z.looseObject({}).nullable(),
  scheduling_method: nullableString.optional(),
  invitee_scheduled_by: uri.nullable().optional(),
  cancellation: cancellationSchema.optional(),
};

/** REST `GET /scheduled_events/{e}/invitees/{i}` resource. */
export const inviteeSchema = z.looseObject(inviteeFields);
export type Invitee = z.infer<typeof inviteeSchema>;

/** The webhook payload of invitee.* events: the invitee plus its scheduled event. */
export const inviteePayloadSchema = z.looseObject({
  ...inviteeFields,
  scheduled_event: z.looseObject(scheduledEventFields),
});
export type InviteePayload = z.infer<typeof inviteePayloadSchema>;

/**
 * The minimal no-show payload some integrations observe instead of the full invitee (the REST InviteeNoShow
 * resource): only the invitee's URI, so the invitee is fetched.
 */
export const inviteeNoShowSchema = z.looseObject({ invitee: uri, uri: uri.optional(), created_at: timestamp.optional() });

/** One answer of a routing form submission. */
export const routingFormAnswerSchema = z.looseObject({
  question_uuid: z.string(),
  question: z.string(),
  /** a multiple-choice answer may come as a list */
  answer: z.union([z.string(), z.array(z.string())]).nullable(),
});
export type RoutingFormAnswer = z.infer<typeof routingFormAnswerSchema>;

/** REST `GET /routing_form_submissions/{uuid}` resource, also the `routing_form_submission.created` payload. */
export const routingFormSubmissionSchema = z.looseObject({
  uri,
  routing_form: uri,
  questions_and_answers: z.array(routingFormAnswerSchema),
  tracking: z.looseObject(trackingSchema.partial().shape).nullable(),
  result: z.looseObject({ type: z.enum(['event_type', 'custom_message', 'external_url']), value: z.unknown() }).nullable(),
  /** the invitee the submission led to, once booked */
  submitter: uri.nullable(),
  submitter_type: z.string().nullable(),
  created_at: timestamp,
  updated_at: timestamp,
});
export type RoutingFormSubmission = z.infer<typeof routingFormSubmissionSchema>;

/** REST `GET /routing_forms` resource. */
export const routingFormSchema = z.looseObject({
  uri,
  organization: uri,
  name: z.string(),
  status: z.string(),
  published_version: z.number().int().nullable().optional(),
  questions: z.array(
    z.looseObject({ uuid: z.string(), name: z.string(), type: z.string(), required: z.boolean(), answer_choices: z.array(z.string()).nullable().optional() }),
  ),
  created_at: timestamp,
  updated_at: timestamp,
});
export type RoutingForm = z.infer<typeof routingFormSchema>;

/** The current (API v2) webhook envelope. */
export const webhookEnvelopeSchema = z.looseObject({
  event: z.string(),
  created_at: timestamp,
  created_by: uri,
  payload: z.looseObject({}),
});
export type WebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;

const legacyUuid = z.string().min(1);

/** Retired API v1 hooks: `payload.event` and `payload.invitee` are objects identified by uuids. */
export const legacyEnvelopeSchema = z.looseObject({
  event: z.string(),
  time: z.string(),
  payload: z.looseObject({
    event: z.looseObject({ uuid: legacyUuid, start_time: z.string(), end_time: z.string() }),
    invitee: z.looseObject({ uuid: legacyUuid, email: z.string().min(1), name: z.string() }),
  }),
});
export type LegacyEnvelope = z.infer<typeof legacyEnvelopeSchema>;

export const userSchema = z.looseObject({
  uri,
  name: z.string(),
  slug: z.string(),
  email: z.string(),
  scheduling_url: uri,
  timezone: z.string(),
  avatar_url: uri.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  current_organization: uri,
});
export type User = z.infer<typeof userSchema>;

export const webhookSubscriptionSchema = z.object({
  uri,
  callback_url: uri,
  created_at: timestamp,
  updated_at: timestamp,
  retry_started_at: timestamp.nullable(),
  state: z.enum(['active', 'disabled']),
  events: z.array(z.string()),
  scope: z.enum(['organization', 'user', 'group']),
  organization: uri,
  user: uri.nullable(),
  group: uri.nullable(),
  creator: uri.nullable(),
});
export type WebhookSubscription = z.infer<typeof webhookSubscriptionSchema>;

export const paginationSchema = z.object({
  count: z.number().int(),
  next_page: uri.nullable(),
  previous_page: uri.nullable(),
  next_page_token: nullableString,
  previous_page_token: nullableString,
});
export type Pagination = z.infer<typeof paginationSchema>;

export const resourceOf = <T extends z.ZodType>(schema: T) => z.object({ resource: schema });
export const collectionOf = <T extends z.ZodType>(schema: T) =>
  z.object({ collection: z.array(schema), pagination: paginationSchema });

export const apiErrorSchema = z.looseObject({
  title: z.string(),
  message: z.string(),
  details: z.array(z.looseObject({ message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof apiErrorSchema>;

/** The trailing uuid of a Calendly URI, e.g. `.../scheduled_events/{uuid}` -> `{uuid}`. */
export function uuidOf(resourceUri: string): string {
  const segments = new URL(resourceUri).pathname.split('/').filter(Boolean);
  const last = segments.at(-1);
  if (!last) throw new Error(`not a Calendly resource URI: ${resourceUri}`);
  return last;
}

/** Characters PostgreSQL refuses in text and jsonb: NUL, and (in jsonb) unpaired surrogates. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL refuses
const REFUSED_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string with what PostgreSQL refuses removed (NUL) or replaced (unpaired surrogates, by U+FFFD). */
function cleanText(text: string): string {
  return text.replace(REFUSED_TEXT, (found) => (found === '\u0000' ? '' : '\uFFFD'));
}

/**
 * Parsed JSON with every string and key cleaned (see cleanText): applied to webhook bodies and API responses before
 * they are validated, so that a NUL in an invitee's name cannot make storing the booking fail forever.
 */
export function cleanJson(value: unknown): unknown {
  if (typeof value === 'string') return cleanText(value);
  if (Array.isArray(value)) return value.map(cleanJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [cleanText(key), cleanJson(item)]));
  }
  return value;
}
