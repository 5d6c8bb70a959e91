/** Builds Calendly resources with every required key present (null where Calendly leaves a value unset). */
import { randomBytes, randomInt } from 'node:crypto';
import type {
  Cancellation,
  Invitee,
  InviteePayload,
  Location,
  Payment,
  QuestionAndAnswer,
  ScheduledEvent,
  Tracking,
  User,
} from '../src/calendly/schemas';
import type { PaymentInput } from './types';

export function slugOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** `jane.doe@example.com` -> `Jane Doe`, for bookings that give only an email. */
export function nameFromEmail(email: string): string {
  const local = email.split('@')[0] ?? email;
  return local
    .split(/[._+-]+/)
    .filter(Boolean)
    .map((word) => word[0]?.toUpperCase() + word.slice(1))
    .join(' ');
}

export function newUser(
  uri: string,
  organizationUri: string,
  person: { name: string; email: string },
  now: string,
): User {
  const slug = slugOf(person.name);
  return {
    resource_type: 'User',
    uri,
    name: person.name,
    slug,
    email: person.email,
    scheduling_url: `https://calendly.com/${slug}`,
    timezone: 'America/New_York',
    avatar_url: null,
    created_at: now,
    updated_at: now,
    current_organization: organizationUri,
  };
}

/** A conference Calendly has already created at Zoom (`pushed`): the only status with a join_url. */
export function zoomLocation(): Location {
  const meetingId = randomInt(10_000_000_000, 99_999_999_999);
  return {
    type: 'zoom',
    status: 'pushed',
    join_url: `https://us02web.zoom.us/j/${meetingId}`,
    data: {
      id: meetingId,
      settings: {
        global_dial_in_numbers: [
          { number: '+1 646 558 8656', country: 'US', type: 'toll', city: 'New York', country_name: 'US' },
        ],
      },
      extra: { intl_numbers_url: `https://us02web.zoom.us/u/k${randomBytes(5).toString('hex')}` },
      password: randomBytes(6).toString('base64url'),
    },
  };
}

/** A rescheduled meeting gets its own conference; other locations carry over unchanged. */
export function locationForNewEvent(previous: Location): Location {
  return previous.type === 'zoom' ? zoomLocation() : structuredClone(previous);
}

export interface ScheduledEventFields {
  uri: string;
  name: string;
  startTime: string;
  endTime: string;
  eventTypeUri: string;
  location: Location;
  hosts: User[];
  now: string;
}

/** The REST form; `payloadScheduledEvent` derives the webhook form from it. */
export function newScheduledEvent(fields: ScheduledEventFields): ScheduledEvent {
  return {
    uri: fields.uri,
    name: fields.name,
    meeting_notes_plain: null,
    meeting_notes_html: null,
    status: 'active',
    start_time: fields.startTime,
    end_time: fields.endTime,
    event_type: fields.eventTypeUri,
    location: fields.location,
    invitees_counter: { total: 0, active: 0, limit: 1 },
    created_at: fields.now,
    updated_at: fields.now,
    event_memberships: fields.hosts.map((host) => ({
      user: host.uri,
      user_email: host.email,
      user_name: host.name,
      buffered_start_time: fields.startTime,
      buffered_end_time: fields.endTime,
    })),
    event_guests: [],
    calendar_event: { kind: 'google', external_id: randomBytes(13).toString('hex') },
  };
}

export interface InviteeFields {
  uri: string;
  uuid: string;
  eventUri: string;
  email: string;
  name: string;
  firstName: string | null;
  lastName: string | null;
  timezone: string | null;
  questionsAndAnswers: { question: string; answer: string }[];
  tracking: Partial<Tracking>;
  textReminderNumber: string | null;
  oldInvitee: string | null;
  payment: Payment | null;
  now: string;
}

export function newInvitee(fields: InviteeFields): Invitee {
  const questionsAndAnswers: QuestionAndAnswer[] = fields.questionsAndAnswers.map(({ question, answer }, position) => ({
    question,
    answer,
    position,
  }));
  return {
    uri: fields.uri,
    email: fields.email,
    first_name: fields.firstName,
    last_name: fields.lastName,
    name: fields.name,
    status: 'active',
    questions_and_answers: questionsAndAnswers,
    timezone: fields.timezone,
    event: fields.eventUri,
    created_at: fields.now,
    updated_at: fields.now,
    tracking: {
      utm_campaign: fields.tracking.utm_campaign ?? null,
      utm_source: fields.tracking.utm_source ?? null,
      utm_medium: fields.tracking.utm_medium ?? null,
      utm_content: fields.tracking.utm_content ?? null,
      utm_term: fields.tracking.utm_term ?? null,
      salesforce_uuid: fields.tracking.salesforce_uuid ?? null,
    },
    text_reminder_number: fields.textReminderNumber,
    rescheduled: false,
    old_invitee: fields.oldInvitee,
    new_invitee: null,
    cancel_url: `https://calendly.com/cancellations/${fields.uuid}`,
    reschedule_url: `https://calendly.com/reschedulings/${fields.uuid}`,
    routing_form_submission: null,
    payment: fields.payment,
    no_show: null,
    reconfirmation: null,
    scheduling_method: null,
    invitee_scheduled_by: null,
  };
}

export function newCancellation(
  canceledBy: string,
  reason: string | null,
  cancelerType: Cancellation['canceler_type'],
  now: string,
): Cancellation {
  return { canceled_by: canceledBy, reason, canceler_type: cancelerType, created_at: now };
}

/** Calendly's form of a payment taken at booking, with an id as its provider would give it. */
export function newPayment(input: PaymentInput): Payment {
  const provider = input.provider ?? 'stripe';
  return {
    external_id: provider === 'stripe' ? `ch_${randomBytes(12).toString('hex')}` : randomBytes(8).toString('hex').toUpperCase(),
    provider,
    amount: input.amount,
    currency: input.currency,
    terms: input.terms ?? null,
    successful: input.successful ?? true,
  };
}

/** The webhook's `scheduled_event` lacks the REST-only `calendar_event` and membership buffers. */
function payloadScheduledEvent(event: ScheduledEvent): InviteePayload['scheduled_event'] {
  return {
    uri: event.uri,
    name: event.name,
    meeting_notes_plain: event.meeting_notes_plain ?? null,
    meeting_notes_html: event.meeting_notes_html ?? null,
    status: event.status,
    start_time: event.start_time,
    end_time: event.end_time,
    event_type: event.event_type,
    location: event.location,
    invitees_counter: event.invitees_counter,
    created_at: event.created_at,
    updated_at: event.updated_at,
    event_memberships: event.event_memberships.map(({ user, user_email, user_name }) => ({ user, user_email, user_name })),
    event_guests: event.event_guests,
    ...(event.cancellation ? { cancellation: event.cancellation } : {}),
  };
}

/** A snapshot: later changes to the invitee or event do not alter a payload already built. */
export function inviteePayload(invitee: Invitee, event: ScheduledEvent): InviteePayload {
  return structuredClone({ ...invitee, scheduled_event: payloadScheduledEvent(event) });
}
