/**
 * What the receiver's HTTP API accepts and answers, written once as zod schemas: the read API parses its queries
 * with them, the routes type their answers by them (`satisfies`), and src/receiver/openapi.ts turns them into the
 * document served as GET /openapi.json. Answer objects are closed in the document (no other keys), so the test that
 * checks real answers against it (test/receiver/openapi.test.ts) fails when an answer gains an undocumented field.
 */
import { z } from 'zod';
import { locationSchema, questionAndAnswerSchema, routingFormAnswerSchema, routingFormSubmissionSchema as calendlySubmissionSchema, trackingSchema } from '../calendly/schemas';

/** A Date in the code, an ISO 8601 string in the JSON (how Koa serializes a Date). */
const timestamp = z.date().meta({ override: { type: 'string', format: 'date-time' } });
const nullableText = z.string().nullable();
const count = z.number().int().min(0);

// ---- errors

const errorFields = {
  error: z.string().meta({ description: 'What went wrong, for people. Never carries personal data.' }),
  code: z.string().meta({ description: 'The stable reason, for programs: `invalid_query`, `unauthorized`, `not_found`, …' }),
};

/** Every error answer of the API has this shape; some add fields (the webhook's `trackingId`). */
export const apiErrorSchema = z.object(errorFields).meta({
  id: 'ApiError',
  description: 'An error answer: `code` says why, `error` explains it. Unknown routes answer `not_found`, wrong methods `method_not_allowed`, a method no route implements `not_implemented` (501), a request target that is not a URL `invalid_url` (400), an unexpected failure `internal_error` (500).',
});

/** The error answer of one status, with the codes it can carry. */
export function errorWith<const Codes extends readonly [string, ...string[]]>(codes: Codes) {
  return z.object({ ...errorFields, code: z.enum(codes) });
}

// ---- read API queries (parsed with these schemas by src/receiver/read-api.ts)

const page = {
  limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: 'Page size.' }),
  offset: z.coerce.number().int().min(0).default(0).meta({ description: 'Rows to skip.' }),
};
// PostgreSQL has no year 0 (nor earlier ISO years): refused here with a 400, not a 500 from below.
const instant = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .refine((value) => value.getUTCFullYear() >= 1, 'must be in year 1 or later');
/** Free text goes to PostgreSQL, which refuses the NUL character: refused here with a 400, not a 500 from below. */
const text = z
  .string()
  .min(1)
  .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character');
const emailFilter = text.optional().meta({ description: 'Only this email address, compared case-insensitively.' });

const meetingStatus = z.enum(['active', 'canceled', 'rescheduled']).meta({
  description: '`rescheduled`: canceled by a reschedule; `newInviteeUri` names the meeting that replaces it.',
});

export const leadQuerySchema = z.object({ email: emailFilter, ...page });
export const meetingQuerySchema = z.object({
  email: emailFilter,
  status: meetingStatus.optional(),
  noShow: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .meta({ description: 'Only meetings marked (true) or not marked (false) as no-show.' }),
  startFrom: instant.optional().meta({ description: 'Only meetings starting at or after this instant (ISO 8601 with offset).' }),
  startTo: instant.optional().meta({ description: 'Only meetings starting before this instant (ISO 8601 with offset).' }),
  ...page,
});

export const routingFormSubmissionQuerySchema = z
  .object({
    booked: z
      .enum(['true', 'false'])
      .transform((value) => value === 'true')
      .optional()
      .meta({ description: 'Only submissions that led to a booking (true) or did not (false), as `booked`.' }),
    email: text.optional().meta({ description: 'Only submissions whose lead has this email address, compared case-insensitively.' }),
    from: instant.optional().meta({ description: 'Only submissions made at or after this instant (ISO 8601 with offset).' }),
    to: instant.optional().meta({ description: 'Only submissions made before this instant; after `from`.' }),
    ...page,
    limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Page size.' }),
  })
  // Refinements also run after a field failed, on its raw text: only instants are compared.
  .refine((query) => !(query.from instanceof Date && query.to instanceof Date) || query.from < query.to, { message: 'must be after from', path: ['to'] });

// ---- read API answers

export const leadSchema = z
  .object({
    id: z.uuid(),
    email: z.string().meta({ description: 'As last given by the invitee.' }),
    name: z.string(),
    firstName: nullableText,
    lastName: nullableText,
    timezone: nullableText,
    phone: nullableText,
    firstSeenAt: timestamp,
    lastSeenAt: timestamp,
  })
  .meta({ id: 'Lead', description: 'A person who booked: one per organization and email address (case-insensitive).' });

/** An amount in one currency; currencies are never converted. */
const moneySchema = z
  .object({
    currency: z.string().meta({ description: 'ISO 4217 code.' }),
    amount: z.number().min(0).meta({ description: 'In the currency\'s major unit, e.g. 49.9.' }),
  })
  .meta({ id: 'Money' });
/** Amounts side by side, one per currency (by code), none of zero. */
const amounts = z.array(moneySchema);

/** A meeting as the live events carry it (src/database/views.ts); the read API adds its `value`. */
const meetingEventSchema = z
  .object({
    id: z.uuid(),
    inviteeUri: z.url().meta({ description: "Calendly's invitee URI: the identity of a meeting." }),
    scheduledEventUri: z.url(),
    eventTypeUri: z.url(),
    name: nullableText,
    startTime: timestamp,
    endTime: timestamp,
    location: locationSchema.meta({ description: "Calendly's location object, keyed by `type`, as given." }),
    status: meetingStatus,
    host: z.object({ name: nullableText, email: nullableText, uri: z.url().nullable() }),
    answers: z.array(questionAndAnswerSchema),
    tracking: trackingSchema,
    cancelUrl: z.url(),
    rescheduleUrl: z.url(),
    cancellation: z
      .object({ canceledAt: timestamp, canceledBy: nullableText, cancelerType: nullableText, reason: nullableText })
      .nullable(),
    rescheduled: z.boolean(),
    oldInviteeUri: z.url().nullable(),
    newInviteeUri: z.url().nullable(),
    noShowAt: timestamp.nullable(),
    bookedAt: timestamp,
    payment: z
      .object({
        provider: nullableText.meta({ description: '`stripe` or `paypal`.' }),
        externalId: nullableText.meta({ description: "The payment's id at its provider." }),
        amount: z.number().min(0),
        currency: z.string().meta({ description: 'ISO 4217 code.' }),
        successful: z.boolean(),
      })
      .nullable()
      .meta({ description: "The invitee's Calendly payment; null unless the event type takes payments." }),
    organization: nullableText.meta({ description: "The Calendly organization URI the meeting belongs to." }),
    workflowId: z.string().meta({ description: "The meeting's reminder workflow in Temporal." }),
    lead: z.object({ id: z.uuid(), email: z.string(), name: z.string() }),
  })
;

export const meetingSchema = meetingEventSchema
  .extend({
    value: moneySchema
      .extend({
        source: z.enum(['payment', 'event_type', 'per_booking']).meta({
          description: '`payment`: its successful payment; else `REVENUE_BY_EVENT_TYPE` (`event_type`) or `REVENUE_PER_BOOKING` (`per_booking`), in `REVENUE_CURRENCY`.',
        }),
      })
      .meta({ description: 'What the meeting is worth in the business counters.' }),
  })
  .meta({ id: 'Meeting', description: "One invitee's place in one scheduled Calendly event." });

export const routingFormSubmissionSchema = z
  .object({
    id: z.uuid(),
    uri: z.url().meta({ description: "Calendly's routing form submission URI." }),
    routingForm: z.object({ uri: z.url(), name: nullableText.meta({ description: 'Known once a sync has read the form.' }) }),
    questionsAndAnswers: z.array(routingFormAnswerSchema).meta({ description: "Calendly's questions and answers, as given." }),
    tracking: calendlySubmissionSchema.shape.tracking.meta({ description: "Calendly's UTM tracking of the submission, as given." }),
    result: z
      .object({ type: z.enum(['event_type', 'custom_message', 'external_url']), value: z.unknown().meta({ description: 'An event type URI, a message or a URL, as Calendly gives it.' }) })
      .nullable()
      .meta({ description: 'Where the form sent the person.' }),
    submitter: z
      .object({ uri: z.string(), type: nullableText })
      .nullable()
      .meta({ description: 'The invitee the submission led to, as Calendly names it once booked.' }),
    booked: z.boolean().meta({ description: 'It led to a booking: Calendly names its invitee, or a meeting names it.' }),
    meetingId: z.uuid().nullable().meta({ description: 'The meeting it led to, once both are here.' }),
    leadId: z.uuid().nullable().meta({ description: 'The lead of its email answer; null without one.' }),
    submittedAt: timestamp,
    organization: z.string().meta({ description: 'The organization it belongs to.' }),
  })
  .meta({ id: 'RoutingFormSubmission', description: "A routing form submission, booked or not; also the `submission` of the websocket's `lead.form_submitted`." });

const paginationSchema = z
  .object({ limit: count, offset: count, total: count.meta({ description: 'Rows matching the filters, over all pages.' }) })
  .meta({ id: 'Pagination' });

export const leadPageSchema = z.object({ data: z.array(leadSchema), pagination: paginationSchema }).meta({ id: 'LeadPage' });
export const meetingPageSchema = z.object({ data: z.array(meetingSchema), pagination: paginationSchema }).meta({ id: 'MeetingPage' });
export const routingFormSubmissionPageSchema = z
  .object({ data: z.array(routingFormSubmissionSchema), pagination: paginationSchema })
  .meta({ id: 'RoutingFormSubmissionPage' });

// ---- dashboard

/** An IANA time zone name that both Node's Intl and PostgreSQL know (no offsets: PostgreSQL reads their sign POSIX-wise). */
const timeZone = z
  .string()
  .refine((value) => /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(value) && isTimeZone(value), 'must be an IANA time zone, e.g. Europe/Berlin')
  .transform((value) => new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone);

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

const MAX_PERIOD_DAYS = 366;

export const dashboardQuerySchema = z
  .object({
    tz: timeZone.default('UTC').meta({ description: 'Where days start for the business counters (IANA name); UTC by default.' }),
    from: instant.optional().meta({ description: 'Start of the chosen period of the business counters (ISO 8601 with offset), with `to`.' }),
    to: instant.optional().meta({ description: 'End of the chosen period, exclusive; at most 366 days after `from`.' }),
  })
  .refine((query) => (query.from === undefined) === (query.to === undefined), { message: 'from and to go together', path: ['to'] })
  .refine((query) => !query.from || !query.to || query.from < query.to, { message: 'must be after from', path: ['to'] })
  // One bar of the chart per day: a period of at most a (leap) year, a daylight-saving hour more allowed. Refinements
  // also run after a field failed, on its raw text: only instants are compared.
  .refine((query) => !(query.from instanceof Date && query.to instanceof Date) || query.to.getTime() - query.from.getTime() <= (MAX_PERIOD_DAYS * 24 + 1) * 3_600_000, {
    message: `must be at most ${MAX_PERIOD_DAYS} days after from`,
    path: ['to'],
  });
/** GET /api/business reads the same query. */
export const businessQuerySchema = dashboardQuerySchema;

const businessFiguresSchema = z
  .object({
    from: timestamp,
    to: timestamp.meta({ description: 'Exclusive.' }),
    booked: count.meta({ description: 'Meetings booked in the period (a reschedule books the new one).' }),
    canceled: count.meta({ description: 'Meetings canceled in the period.' }),
    rescheduled: count.meta({ description: 'Meetings moved to another time in the period.' }),
    noShow: count.meta({ description: 'Meetings of the period (by start) whose invitee did not show up.' }),
    held: count.meta({ description: 'Meetings of the period (by start) that are over, not canceled and not a no-show.' }),
    heldRate: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: '`held` over the meetings of the period that are over (rescheduled ones count as their replacement); null when none is.' }),
    bookedRevenue: amounts.meta({
      description: 'What the meetings booked in the period and still booked are worth, per currency: a cancel lowers it, a moved meeting counts as its replacement.',
    }),
    heldRevenue: amounts.meta({ description: 'What the held meetings are worth, per currency.' }),
    byEventType: z
      .array(
        z.object({
          eventTypeUri: z.string(),
          name: nullableText.meta({ description: 'The name of its latest meeting of the period.' }),
          booked: count,
          held: count,
          bookedRevenue: amounts,
          heldRevenue: amounts,
        }),
      )
      .meta({ description: 'The event types with a meeting booked or held in the period, most such meetings first (at most 50).' }),
    formSubmissions: count.meta({ description: 'Routing form submissions made in the period.' }),
    bookedFromForms: count.meta({ description: 'Of those, the ones that led to a booking (Calendly names their invitee, or a meeting names them).' }),
    bookingRate: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .meta({ description: '`bookedFromForms` over `formSubmissions`; null when there were no submissions.' }),
  })
  .meta({ id: 'BusinessFigures' });

export const businessSchema = z
  .object({
    timezone: z.string().meta({ description: 'Where the days of the periods start: `tz`, or UTC.' }),
    today: businessFiguresSchema,
    last7Days: businessFiguresSchema,
    last30Days: businessFiguresSchema,
    range: businessFiguresSchema.nullable(),
    daily: z
      .object({
        from: timestamp,
        to: timestamp.meta({ description: 'Exclusive.' }),
        days: z.array(
          z.object({
            day: z.iso.date().meta({ description: 'The local date in `timezone`.' }),
            from: timestamp,
            to: timestamp.meta({ description: 'Exclusive; the first and last day are cut at the period\'s ends.' }),
            booked: count,
            canceled: count,
            noShow: count.meta({ description: 'Meetings starting that day whose invitee is marked as a no-show.' }),
            bookedRevenue: amounts.meta({ description: "What the day's bookings still booked are worth, per currency." }),
          }),
        ),
      })
      .meta({ description: 'The `from`/`to` period day by day, else the last 30 days: the dashboard\'s chart.' }),
  })
  .meta({
    id: 'Business',
    description:
      "Business counters of the token's organization (all organizations for an unbound token): today, today and the 6 " +
      'or 29 days before, and the `from`/`to` period (`range`, null without one); and a period day by day.',
  });

export const dashboardSchema = z
  .object({
    organization: nullableText.meta({ description: "The token's organization; null for a token of all organizations." }),
    counts: z.object({ booked: count, canceled: count, rescheduled: count, noShow: count }),
    business: businessSchema,
    upcomingMeetings: z.array(
      z.object({
        id: z.uuid(),
        name: nullableText,
        startTime: timestamp,
        endTime: timestamp,
        invitee: z.object({ name: z.string(), email: z.string() }),
        nextReminder: z.object({ fireAt: timestamp, offsetSeconds: z.number().int() }).nullable(),
        workflowId: z.string(),
        workflowUrl: z.url().meta({ description: 'The workflow in the Temporal Web UI.' }),
      }),
    ),
    recentDeliveries: z
      .array(
        z.object({
          id: z.uuid(),
          receivedAt: timestamp,
          eventType: nullableText,
          outcome: z.enum(['rejected', 'processing', 'processed', 'failed', 'unprocessed', 'replayed', 'test']),
          detail: nullableText,
          inviteeUri: z.url().nullable(),
          scheduledEventUri: z.url().nullable(),
          workflowId: nullableText,
          workflowUrl: z.url().nullable(),
        }),
      )
      .meta({ description: "The latest webhook deliveries: the token's organization's own, or all for a token of all organizations." }),
    failedReminderWebhooks: z
      .array(
        z.object({
          reminderId: z.uuid(),
          meetingId: z.uuid(),
          offsetSeconds: z.number().int(),
          fireAt: timestamp,
          failedAt: timestamp,
          failure: z.string(),
        }),
      )
      .meta({ description: 'Reminders the reminder webhook refused for good (a 4xx), latest first.' }),
  })
  .meta({ id: 'Dashboard' });

// ---- health

export const healthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

const readinessCheck = z.string().meta({ description: '`ok`, or the error of the check.' });
export const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not ready']),
    failing: z.array(z.enum(['postgresql', 'temporal'])).meta({ description: 'The parts that do not answer.' }),
    checks: z
      .object({ postgresql: readinessCheck, temporal: readinessCheck })
      .optional()
      .meta({ description: 'Only with an API token: `ok`, or the error of each check.' }),
  })
  .meta({ id: 'Readiness' });

// ---- Calendly webhook

export const webhookAcknowledgementSchema = z
  .object({
    accepted: z.literal(true),
    duplicate: z.boolean(),
    workflowId: z.string(),
    trackingId: z.uuid().meta({ description: 'The id of the delivery log row.' }),
    unprocessed: z
      .string()
      .optional()
      .meta({ description: 'Signed, but malformed or of an event type not handled yet: kept raw for replay, and why.' }),
  })
  .meta({ id: 'WebhookAcknowledgement' });

// ---- OAuth connections (src/receiver/connection-routes.ts)

export const connectStartSchema = z
  .object({
    authorizeUrl: z.url().meta({ description: "Calendly's consent page: send the organization's admin there (a redirect or a new window)." }),
    expiresAt: z.iso.datetime().meta({ description: 'The flow must come back to the callback before this.' }),
  })
  .meta({ id: 'ConnectStart' });

export const connectionSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['personal_token', 'oauth']).meta({
      description: "How it authenticates: `personal_token`, the deployment's CALENDLY_API_TOKEN (its fixed id is 00000000-0000-4000-8000-000000000001, which stays when its Calendly organization connects through OAuth and it becomes `oauth`); `oauth`, connected by the organization.",
    }),
    organization: z.string().meta({ description: 'Our organization (the one API tokens are bound to).' }),
    status: z.enum(['connected', 'needs_reauthorization', 'disconnected']).meta({
      description: '`needs_reauthorization`: Calendly refused its token; `statusReason` says what to do (connect again).',
    }),
    statusReason: nullableText,
    statusChangedAt: timestamp,
    calendlyOrganization: nullableText.meta({ description: 'The Calendly organization URI connected.' }),
    calendlyUser: nullableText.meta({ description: 'The Calendly user who authorized.' }),
    webhook: z.object({
      state: z.enum(['none', 'active', 'upgrade_required', 'failed', 'deleted']).meta({
        description: '`upgrade_required`: a free Calendly plan has no webhooks; bookings then arrive by the reconcile schedule.',
      }),
      active: z.boolean(),
      subscriptionUri: nullableText,
      detail: nullableText,
    }),
    routingForms: z
      .object({
        state: z.enum(['subscribed', 'unavailable']).nullable().meta({
          description:
            '`subscribed`: Calendly delivers routing form submissions (each makes a lead); `unavailable`: it refused them to this ' +
            'connection (no `routing_forms:read`, or a plan without routing forms), see `detail`; null: not known yet.',
        }),
        detail: nullableText,
      })
      .meta({ description: 'Leads from routing forms: whether Calendly delivers the submissions, and if not what comes instead.' }),
    lastDeliveryAt: timestamp.nullable(),
    lastSyncedAt: timestamp.nullable().meta({ description: 'When the last complete sync started.' }),
    sync: z.object({
      state: z.enum(['idle', 'running', 'failed']),
      progress: z.record(z.string(), z.unknown()).nullable().meta({ description: 'Counts of the sync running or last run.' }),
    }),
    callbackUrl: z.url().meta({ description: "This connection's webhook URL, which its Calendly subscription calls." }),
    workflowsUrl: z.url().meta({ description: "The Temporal Web UI's list of this connection's workflows (`CalendlyConnection = \"<id>\"`)." }),
  })
  .meta({ id: 'Connection', description: 'An organization\'s Calendly connection. Never carries a token or a key.' });

export const connectionAnswerSchema = z.object({ connection: connectionSchema }).meta({ id: 'ConnectionAnswer' });

export const testWebhookAnswerSchema = z
  .object({
    received: z.boolean().meta({ description: 'The webhook URL answered 200 and logged the test delivery.' }),
    url: z.string(),
    status: z.int().nullable().meta({ description: "The webhook URL's HTTP status; null when it could not be reached." }),
    answer: z.unknown().meta({ description: "The webhook URL's answer (its `trackingId` names the delivery log row), or why it could not be reached." }),
  })
  .meta({ id: 'TestWebhookAnswer' });

/** A function whose answer must fit `Schema` (checked with `satisfies` where a route uses it). */
export type ViewOf<Schema extends z.ZodType> = (...args: never[]) => z.output<Schema>;

// ---- websocket tickets

export const websocketTicketSchema = z
  .object({
    ticket: z.string().meta({ description: 'Open the websocket as `/ws?ticket=<ticket>`: once, before `expiresAt`, on any receiver.' }),
    expiresAt: timestamp.meta({ description: 'The ticket is refused after this (30 seconds after it was issued).' }),
  })
  .meta({ id: 'WebsocketTicket' });
