/**
 * The retired API v1 webhook body (`{event, time, payload: {event_type, event, invitee, ...}}`) for an
 * invitee held by the fake, so receivers can be tested against deliveries from old integrations.
 */
import { uuidOf, type Invitee, type Location, type ScheduledEvent, type User } from '../src/calendly/schemas';

export interface LegacyBodySource {
  event: 'invitee.created' | 'invitee.canceled';
  invitee: Invitee;
  scheduledEvent: ScheduledEvent;
  eventType: { uri: string; name: string; slug: string };
  hosts: User[];
  /** When the hook fired. */
  time: string;
}

/** v1 timestamps carry whole seconds: `2018-03-14T19:16:01Z`. */
const v1Time = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;
const v1TimeOrNull = (iso: string | undefined) => (iso === undefined ? null : v1Time(iso));

/** `12:00pm - Wednesday, March 14, 2018` in the given time zone. */
function prettyTime(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: 'numeric',
    minute: '2-digit',
    hour12: true,
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    year: 'numeric',
  }).formatToParts(new Date(iso));
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((candidate) => candidate.type === type)?.value ?? '';
  const time = `${part('hour')}:${part('minute')}${part('dayPeriod').toLowerCase()}`;
  return `${time} - ${part('weekday')}, ${part('month')} ${part('day')}, ${part('year')}`;
}

/** v1 had a plain string location: the address, phone number or conference link. */
function v1Location(location: Location): string | null {
  const value = 'join_url' in location ? location.join_url : 'location' in location ? location.location : null;
  return typeof value === 'string' ? value : null;
}

export function legacyWebhookBody({ event, invitee, scheduledEvent, eventType, hosts, time }: LegacyBodySource): string {
  const hostTimeZone = hosts[0]?.timezone ?? 'UTC';
  const inviteeTimeZone = invitee.timezone ?? 'UTC';
  const durationMinutes = (Date.parse(scheduledEvent.end_time) - Date.parse(scheduledEvent.start_time)) / 60_000;
  const eventCancellation = scheduledEvent.cancellation;
  const inviteeCancellation = invitee.cancellation;
  const questionsAndResponses: Record<string, string> = {};
  invitee.questions_and_answers.forEach(({ question, answer }, index) => {
    questionsAndResponses[`${index + 1}_question`] = question;
    questionsAndResponses[`${index + 1}_response`] = answer;
  });

  return JSON.stringify({
    event,
    time: v1Time(time),
    payload: {
      event_type: {
        uuid: uuidOf(eventType.uri),
        kind: scheduledEvent.invitees_counter.limit > 1 ? 'Group' : 'One-on-One',
        slug: eventType.slug,
        name: eventType.name,
        duration: durationMinutes,
        owner: { type: 'users', uuid: hosts[0] ? uuidOf(hosts[0].uri) : null },
      },
      event: {
        uuid: uuidOf(scheduledEvent.uri),
        assigned_to: hosts.map((host) => host.name),
        extended_assigned_to: hosts.map((host) => ({ name: host.name, email: host.email, primary: false })),
        start_time: v1Time(scheduledEvent.start_time),
        start_time_pretty: prettyTime(scheduledEvent.start_time, hostTimeZone),
        invitee_start_time: v1Time(scheduledEvent.start_time),
        invitee_start_time_pretty: prettyTime(scheduledEvent.start_time, inviteeTimeZone),
        end_time: v1Time(scheduledEvent.end_time),
        end_time_pretty: prettyTime(scheduledEvent.end_time, hostTimeZone),
        invitee_end_time: v1Time(scheduledEvent.end_time),
        invitee_end_time_pretty: prettyTime(scheduledEvent.end_time, inviteeTimeZone),
        created_at: v1Time(scheduledEvent.created_at),
        location: v1Location(scheduledEvent.location),
        canceled: scheduledEvent.status === 'canceled',
        canceler_name: eventCancellation?.canceled_by ?? null,
        cancel_reason: eventCancellation?.reason ?? null,
        canceled_at: v1TimeOrNull(eventCancellation?.created_at),
      },
      invitee: {
        uuid: uuidOf(invitee.uri),
        first_name: invitee.first_name,
        last_name: invitee.last_name,
        name: invitee.name,
        email: invitee.email,
        text_reminder_number: invitee.text_reminder_number,
        timezone: invitee.timezone,
        created_at: v1Time(invitee.created_at),
        is_reschedule: invitee.old_invitee !== null,
        payments: [],
        canceled: invitee.status === 'canceled',
        canceler_name: inviteeCancellation?.canceled_by ?? null,
        cancel_reason: inviteeCancellation?.reason ?? null,
        canceled_at: v1TimeOrNull(inviteeCancellation?.created_at),
      },
      questions_and_answers: invitee.questions_and_answers.map(({ question, answer }) => ({ question, answer })),
      questions_and_responses: questionsAndResponses,
      tracking: invitee.tracking,
      old_event: null,
      old_invitee: null,
      new_event: null,
      new_invitee: null,
    },
  });
}
