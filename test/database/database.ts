/**
 * What the database tests share: an ORM on this run's migrated database, and bookings as the Calendly API returns
 * them. The database is shared with the other test files, so every test makes its own organization and emails.
 */
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Invitee, ScheduledEvent } from '../../src/calendly/schemas';
import type { Booking } from '../../src/contract';
import { ormConfig } from '../../src/database/orm-config';
import { harness } from '../support/harness';

export function openOrm(): Promise<MikroORM> {
  return MikroORM.init(ormConfig(harness().databaseUrl));
}

export const newOrganization = () => `https://api.calendly.com/organizations/${randomUUID()}`;
export const newEmail = (what: string) => `${what}-${randomUUID()}@example.com`;

export interface BookingFields {
  email: string;
  name?: string;
  startTime?: string;
  /** minutes */
  duration?: number;
  /** when Calendly last changed the invitee and event */
  at?: string;
  /** when the invitee booked; `at` unless given */
  bookedAt?: string;
  status?: Invitee['status'];
  rescheduled?: boolean;
  timezone?: string | null;
  /** the same meeting again: pass the invitee URI of an earlier booking */
  inviteeUri?: string;
  noShowAt?: string;
}

export function booking(fields: BookingFields): Booking {
  const at = fields.at ?? '2030-01-01T10:00:00.000Z';
  const startTime = fields.startTime ?? '2031-06-01T09:00:00.000Z';
  const inviteeUri = fields.inviteeUri ?? `https://api.calendly.com/scheduled_events/${randomUUID()}/invitees/${randomUUID()}`;
  const eventUri = inviteeUri.replace(/\/invitees\/[^/]+$/, '');
  const event: ScheduledEvent = {
    uri: eventUri,
    name: 'Intro call',
    status: 'active',
    start_time: startTime,
    end_time: new Date(Date.parse(startTime) + (fields.duration ?? 30) * 60_000).toISOString(),
    event_type: 'https://api.calendly.com/event_types/INTRO',
    location: { type: 'zoom', join_url: 'https://zoom.example/j/1' },
    invitees_counter: { total: 1, active: 1, limit: 1 },
    created_at: at,
    updated_at: at,
    event_memberships: [{ user: 'https://api.calendly.com/users/HOST', user_email: 'host@example.com', user_name: 'Host' }],
    event_guests: [],
  };
  const name = fields.name ?? 'Ann Lee';
  const invitee: Invitee = {
    uri: inviteeUri,
    email: fields.email,
    first_name: null,
    last_name: null,
    name,
    status: fields.status ?? 'active',
    questions_and_answers: [{ question: 'Company?', answer: 'Acme', position: 0 }],
    timezone: fields.timezone === undefined ? 'Europe/Berlin' : fields.timezone,
    event: eventUri,
    created_at: fields.bookedAt ?? at,
    updated_at: at,
    tracking: { utm_campaign: 'spring', utm_source: null, utm_medium: null, utm_content: null, utm_term: null, salesforce_uuid: null },
    text_reminder_number: null,
    rescheduled: fields.rescheduled ?? false,
    old_invitee: null,
    new_invitee: null,
    cancel_url: 'https://calendly.com/cancellations/1',
    reschedule_url: 'https://calendly.com/reschedulings/1',
    routing_form_submission: null,
    payment: null,
    no_show: fields.noShowAt ? { uri: `${inviteeUri}/no_show`, created_at: fields.noShowAt } : null,
    reconfirmation: null,
    ...(fields.status === 'canceled' ? { cancellation: { canceled_by: name, reason: 'busy', canceler_type: 'invitee' as const, created_at: at } } : {}),
  };
  return { event, invitee };
}
