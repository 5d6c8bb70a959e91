/** Calendly-side changes to meetings, applied to the store the way Calendly applies them. */
import { randomUUID } from 'node:crypto';
import {
  uuidOf,
  type Cancellation,
  type Invitee,
  type InviteePayload,
  type ScheduledEvent,
  type User,
  type WebhookEventName,
} from '../src/calendly/schemas';
import { InvalidOperationError } from './errors';
import {
  inviteePayload,
  locationForNewEvent,
  nameFromEmail,
  newCancellation,
  newInvitee,
  newPayment,
  newScheduledEvent,
  zoomLocation,
  type InviteeFields,
  type ScheduledEventFields,
} from './resources';
import type { CalendlyStore } from './store';
import { addMinutes, calendlyTime } from './timestamps';
import type { BookingInput, CancelInput, InviteeNoShow, RescheduleInput } from './types';

/** A webhook-worthy change: the event name and the payload as it was at that moment. */
export interface Notification {
  event: WebhookEventName;
  payload: InviteePayload;
}

const DEFAULT_EVENT_TYPE_NAME = '30 Minute Meeting';
const DEFAULT_DURATION_MINUTES = 30;

function timeOf(value: string, field: string): string {
  try {
    return calendlyTime(value);
  } catch {
    throw new InvalidOperationError(`${field} is not an ISO-8601 date-time: ${value}`);
  }
}

function endTimeOf(startTime: string, endTime: string | undefined, durationMinutes: number): string {
  const end = endTime === undefined ? addMinutes(startTime, durationMinutes) : timeOf(endTime, 'endTime');
  if (Date.parse(end) <= Date.parse(startTime)) throw new InvalidOperationError('endTime must be after startTime');
  return end;
}

function durationMinutesOf(event: ScheduledEvent): number {
  return (Date.parse(event.end_time) - Date.parse(event.start_time)) / 60_000;
}

export class Scheduling {
  constructor(private readonly store: CalendlyStore) {}

  book(input: BookingInput): { event: ScheduledEvent; invitee: Invitee; notification: Notification } {
    if (!input.email) throw new InvalidOperationError('email is required');
    const now = this.store.clock.now();
    const event = input.eventUri ? this.groupEventToJoin(input.eventUri, input.startTime) : this.createEvent(input, now);
    const invitee = this.addInvitee(event, {
      email: input.email,
      name: input.name ?? ([input.firstName, input.lastName].filter(Boolean).join(' ') || nameFromEmail(input.email)),
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      timezone: input.timezone ?? 'America/New_York',
      questionsAndAnswers: input.questionsAndAnswers ?? [],
      tracking: input.tracking ?? {},
      textReminderNumber: input.textReminderNumber ?? null,
      oldInvitee: null,
      payment: input.payment ? newPayment(input.payment) : null,
      now,
    });
    if (input.eventUri) {
      const { invitees_counter: counter } = event;
      counter.limit = Math.max(counter.limit, counter.active);
    }
    return { event, invitee, notification: this.notification('invitee.created', invitee) };
  }

  cancel(
    inviteeUri: string,
    input: CancelInput = {},
  ): { event: ScheduledEvent; invitee: Invitee; notification: Notification } {
    const invitee = this.activeInvitee(inviteeUri);
    const event = this.store.event(invitee.event);
    const cancelerType = input.cancelerType ?? 'invitee';
    const canceledBy = input.canceledBy ?? (cancelerType === 'host' ? this.hostNameOf(event) : invitee.name);
    this.cancelInvitee(invitee, event, canceledBy, input.reason ?? null, cancelerType);
    return { event, invitee, notification: this.notification('invitee.canceled', invitee) };
  }

  /** The old invitee is canceled (rescheduled) and a new invitee is booked on a new scheduled event. */
  reschedule(inviteeUri: string, input: RescheduleInput) {
    const oldInvitee = this.activeInvitee(inviteeUri);
    const oldEvent = this.store.event(oldInvitee.event);
    const now = this.store.clock.now();
    const startTime = timeOf(input.startTime, 'startTime');
    const newEvent = this.addEvent({
      name: oldEvent.name ?? DEFAULT_EVENT_TYPE_NAME,
      startTime,
      endTime: endTimeOf(startTime, input.endTime, durationMinutesOf(oldEvent)),
      eventTypeUri: oldEvent.event_type,
      location: locationForNewEvent(oldEvent.location),
      hosts: oldEvent.event_memberships.map((membership) => this.store.user(membership.user)),
      now,
    });
    const newInvitee = this.addInvitee(newEvent, {
      email: oldInvitee.email,
      name: oldInvitee.name,
      firstName: oldInvitee.first_name,
      lastName: oldInvitee.last_name,
      timezone: oldInvitee.timezone,
      questionsAndAnswers: oldInvitee.questions_and_answers,
      tracking: oldInvitee.tracking,
      textReminderNumber: oldInvitee.text_reminder_number,
      oldInvitee: oldInvitee.uri,
      // What was paid for the old time is carried to the new one.
      payment: oldInvitee.payment ? structuredClone(oldInvitee.payment) : null,
      now,
    });
    oldInvitee.rescheduled = true;
    oldInvitee.new_invitee = newInvitee.uri;
    this.cancelInvitee(oldInvitee, oldEvent, oldInvitee.name, null, 'invitee');
    return {
      oldInvitee,
      oldEvent,
      newEvent,
      newInvitee,
      canceled: this.notification('invitee.canceled', oldInvitee),
      created: this.notification('invitee.created', newInvitee),
    };
  }

  markNoShow(inviteeUri: string): { invitee: Invitee; noShow: InviteeNoShow; notification: Notification } {
    const invitee = this.store.invitee(inviteeUri);
    if (invitee.no_show) throw new InvalidOperationError(`invitee ${inviteeUri} is already marked as a no-show`);
    const uuid = randomUUID();
    const noShow: InviteeNoShow = {
      uri: this.store.uriFor('invitee_no_shows', uuid),
      invitee: invitee.uri,
      created_at: this.store.clock.now(),
    };
    this.store.noShows.set(uuid, noShow);
    invitee.no_show = { uri: noShow.uri, created_at: noShow.created_at };
    return { invitee, noShow, notification: this.notification('invitee_no_show.created', invitee) };
  }

  unmarkNoShow(inviteeUri: string): { invitee: Invitee; notification: Notification } {
    const invitee = this.store.invitee(inviteeUri);
    if (!invitee.no_show) throw new InvalidOperationError(`invitee ${inviteeUri} is not marked as a no-show`);
    this.store.noShows.delete(uuidOf(invitee.no_show.uri));
    invitee.no_show = null;
    return { invitee, notification: this.notification('invitee_no_show.deleted', invitee) };
  }

  /** The payload Calendly would send for this invitee now. */
  notification(event: WebhookEventName, invitee: Invitee): Notification {
    return { event, payload: inviteePayload(invitee, this.store.event(invitee.event)) };
  }

  private createEvent(input: BookingInput, now: string): ScheduledEvent {
    const startTime = timeOf(input.startTime, 'startTime');
    const host = this.hostOf(input);
    const eventType = this.store.eventTypeFor(input.eventTypeName ?? DEFAULT_EVENT_TYPE_NAME, host.current_organization);
    return this.addEvent({
      name: eventType.name,
      startTime,
      endTime: endTimeOf(startTime, input.endTime, DEFAULT_DURATION_MINUTES),
      eventTypeUri: eventType.uri,
      location: input.location ?? zoomLocation(),
      hosts: [host],
      now,
    });
  }

  /** `hostUri`, else `host` (found or added in the organization), else the organization's owner. */
  private hostOf(input: BookingInput): User {
    const organizationUri = input.organization ?? (input.hostUri ? undefined : this.store.organizationUri);
    if (input.hostUri) {
      const host = this.store.user(input.hostUri);
      if (organizationUri !== undefined && host.current_organization !== organizationUri) {
        throw new InvalidOperationError(`host ${input.hostUri} is not a user of ${organizationUri}`);
      }
      return host;
    }
    const organization = this.store.organization(organizationUri ?? this.store.organizationUri).uri;
    return input.host ? this.store.hostFor(input.host, organization) : this.store.ownerOf(organization);
  }

  private groupEventToJoin(eventUri: string, startTime: string): ScheduledEvent {
    const event = this.store.event(eventUri);
    if (event.status !== 'active') throw new InvalidOperationError(`scheduled event ${eventUri} is canceled`);
    if (Date.parse(timeOf(startTime, 'startTime')) !== Date.parse(event.start_time)) {
      throw new InvalidOperationError(`startTime must equal the start_time of ${eventUri} (${event.start_time})`);
    }
    return event;
  }

  private addEvent(fields: Omit<ScheduledEventFields, 'uri'>): ScheduledEvent {
    const uuid = randomUUID();
    const event = newScheduledEvent({ ...fields, uri: this.store.uriFor('scheduled_events', uuid) });
    this.store.events.set(uuid, event);
    return event;
  }

  private addInvitee(event: ScheduledEvent, fields: Omit<InviteeFields, 'uri' | 'uuid' | 'eventUri'>): Invitee {
    const uuid = randomUUID();
    const invitee = newInvitee({ ...fields, uuid, uri: this.store.inviteeUriFor(event.uri, uuid), eventUri: event.uri });
    this.store.invitees.set(uuid, invitee);
    this.recount(event, fields.now);
    return invitee;
  }

  private activeInvitee(inviteeUri: string): Invitee {
    const invitee = this.store.invitee(inviteeUri);
    if (invitee.status !== 'active') throw new InvalidOperationError(`invitee ${inviteeUri} is already canceled`);
    return invitee;
  }

  /** A one-on-one event is canceled with its invitee; a group event stays active for the others. */
  private cancelInvitee(
    invitee: Invitee,
    event: ScheduledEvent,
    canceledBy: string,
    reason: string | null,
    cancelerType: Cancellation['canceler_type'],
  ): void {
    const now = this.store.clock.now();
    const cancellation = newCancellation(canceledBy, reason, cancelerType, now);
    invitee.status = 'canceled';
    invitee.cancellation = cancellation;
    invitee.updated_at = now;
    if (event.invitees_counter.limit <= 1) {
      event.status = 'canceled';
      event.cancellation = { ...cancellation };
    }
    this.recount(event, now);
  }

  private recount(event: ScheduledEvent, now: string): void {
    const invitees = this.store.inviteesOf(event.uri);
    event.invitees_counter = {
      total: invitees.length,
      active: invitees.filter((invitee) => invitee.status === 'active').length,
      limit: event.invitees_counter.limit,
    };
    event.updated_at = now;
  }

  private hostNameOf(event: ScheduledEvent): string {
    const [host] = event.event_memberships;
    return host ? this.store.user(host.user).name : this.store.owner.name;
  }
}
