/**
 * Saves what Calendly says about invitees as leads and meetings, in one transaction, and appends to the outbox
 * the changes frontends hear about. Idempotent and order-independent: a retried or older read never creates a
 * second row, never overwrites newer data, and never announces the same change twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Invitee, ScheduledEvent } from '../calendly/schemas';
import type { Booking, NoShowChange, SavedBooking } from '../contract';
import { LeadSchema } from './entities/lead';
import { MeetingSchema, type MeetingStatus } from './entities/meeting';
import { recordEvent, type NewEvent } from './outbox';
import { leadView, meetingView } from './views';

export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

export function meetingStatusOf(invitee: Invitee): MeetingStatus {
  if (invitee.status === 'active') return 'active';
  return invitee.rescheduled ? 'rescheduled' : 'canceled';
}

export async function saveBookings(
  em: EntityManager,
  bookings: Booking[],
  organization: string | null,
  noShowChange?: NoShowChange,
): Promise<SavedBooking[]> {
  return em.transactional(async (tx) => {
    const saved: SavedBooking[] = [];
    for (const booking of bookings) saved.push(await saveBooking(tx, booking, organization));
    if (noShowChange) await applyNoShowChange(tx, noShowChange);
    return saved;
  });
}

async function saveBooking(em: EntityManager, { event, invitee }: Booking, organization: string | null): Promise<SavedBooking> {
  const before = await meetingState(em, invitee.uri);
  const { leadId, change } = await upsertLead(em, invitee);
  await upsertMeeting(em, event, invitee, leadId, organization);
  const after = await meetingState(em, invitee.uri);

  const events: NewEvent['type'][] = [];
  if (change) events.push(change === 'created' ? 'lead.created' : 'lead.updated');
  if (!before) events.push('meeting.created');
  if (after!.status !== 'active' && after!.status !== before?.status) events.push(`meeting.${after!.status}`);
  if (events.length) await announce(em, invitee.uri, leadId, organization, events);
  return { leadId, meetingId: after!.id, inviteeUri: invitee.uri };
}

interface MeetingState {
  id: string;
  status: MeetingStatus;
  no_show_at: Date | null;
}

async function meetingState(em: EntityManager, inviteeUri: string): Promise<MeetingState | undefined> {
  const [row] = await em.execute<MeetingState[]>('select id, status, no_show_at from meetings where invitee_uri = ? for update', [inviteeUri]);
  return row;
}

const LEAD_DETAILS = ['email', 'name', 'first_name', 'last_name', 'timezone', 'phone', 'first_seen_at', 'last_seen_at'] as const;

async function upsertLead(em: EntityManager, invitee: Invitee): Promise<{ leadId: string; change?: 'created' | 'updated' }> {
  const key = emailKeyOf(invitee.email);
  const [before] = await em.execute<Record<string, unknown>[]>(`select ${LEAD_DETAILS.join(', ')} from leads where email_key = ? for update`, [key]);
  // Details come from the most recent booking; first/last seen widen with every booking, in any order.
  const [row] = await em.execute<({ id: string; inserted: boolean } & Record<string, unknown>)[]>(
    `insert into leads (email_key, email, name, first_name, last_name, timezone, phone, first_seen_at, last_seen_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (email_key) do update set
       email = case when excluded.last_seen_at >= leads.last_seen_at then excluded.email else leads.email end,
       name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.name else leads.name end,
       first_name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.first_name else leads.first_name end,
       last_name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.last_name else leads.last_name end,
       timezone = case when excluded.last_seen_at >= leads.last_seen_at then coalesce(excluded.timezone, leads.timezone)
                       else coalesce(leads.timezone, excluded.timezone) end,
       phone = case when excluded.last_seen_at >= leads.last_seen_at then coalesce(excluded.phone, leads.phone)
                    else coalesce(leads.phone, excluded.phone) end,
       first_seen_at = least(leads.first_seen_at, excluded.first_seen_at),
       last_seen_at = greatest(leads.last_seen_at, excluded.last_seen_at),
       updated_at = now()
     returning id, (xmax = 0) as inserted, ${LEAD_DETAILS.join(', ')}`,
    [key, invitee.email.trim(), invitee.name, invitee.first_name, invitee.last_name, invitee.timezone, invitee.text_reminder_number, invitee.created_at, invitee.created_at],
  );
  const changed = !before || LEAD_DETAILS.some((column) => String(before[column]) !== String(row[column]));
  return { leadId: row.id, change: row.inserted ? 'created' : changed ? 'updated' : undefined };
}

const MEETING_COLUMNS = [
  'invitee_uri',
  'scheduled_event_uri',
  'event_type_uri',
  'name',
  'start_time',
  'end_time',
  'location',
  'status',
  'host_name',
  'host_email',
  'host_uri',
  'answers',
  'tracking',
  'cancel_url',
  'reschedule_url',
  'canceled_at',
  'canceled_by',
  'canceler_type',
  'cancel_reason',
  'rescheduled',
  'old_invitee_uri',
  'new_invitee_uri',
  'booked_at',
  'calendly_updated_at',
  'organization',
  'lead_id',
] as const;

const JSON_COLUMNS: ReadonlySet<string> = new Set(['location', 'answers', 'tracking']);

async function upsertMeeting(
  em: EntityManager,
  event: ScheduledEvent,
  invitee: Invitee,
  leadId: string,
  organization: string | null,
): Promise<void> {
  const host = event.event_memberships[0];
  const cancellation = invitee.cancellation ?? null;
  const values: Record<(typeof MEETING_COLUMNS)[number], unknown> = {
    invitee_uri: invitee.uri,
    scheduled_event_uri: event.uri,
    event_type_uri: event.event_type,
    name: event.name,
    start_time: event.start_time,
    end_time: event.end_time,
    location: JSON.stringify(event.location),
    // A group event stays active when one invitee cancels: the invitee's status is the meeting's.
    status: meetingStatusOf(invitee),
    host_name: host?.user_name ?? null,
    host_email: host?.user_email ?? null,
    host_uri: host?.user ?? null,
    answers: JSON.stringify(invitee.questions_and_answers),
    tracking: JSON.stringify(invitee.tracking),
    cancel_url: invitee.cancel_url,
    reschedule_url: invitee.reschedule_url,
    canceled_at: cancellation?.created_at ?? null,
    canceled_by: cancellation?.canceled_by ?? null,
    canceler_type: cancellation?.canceler_type ?? null,
    cancel_reason: cancellation?.reason ?? null,
    rescheduled: invitee.rescheduled,
    old_invitee_uri: invitee.old_invitee,
    new_invitee_uri: invitee.new_invitee,
    booked_at: invitee.created_at,
    calendly_updated_at: latest(invitee.updated_at, event.updated_at),
    organization,
    lead_id: leadId,
  };
  const placeholders = MEETING_COLUMNS.map((column) => (JSON_COLUMNS.has(column) ? '?::jsonb' : '?'));
  const updates = MEETING_COLUMNS.filter((column) => column !== 'invitee_uri').map((column) => `${column} = excluded.${column}`);
  // No-show columns are set here only for a new row; later changes go through applyNoShowChange, in Calendly's order.
  await em.execute(
    `insert into meetings (${MEETING_COLUMNS.join(', ')}, no_show_at, no_show_changed_at)
     values (${placeholders.join(', ')}, ?, ?)
     on conflict (invitee_uri) do update set ${updates.join(', ')}, updated_at = now()
     where meetings.calendly_updated_at <= excluded.calendly_updated_at`,
    [...MEETING_COLUMNS.map((column) => values[column]), invitee.no_show?.created_at ?? null, invitee.no_show?.created_at ?? null],
  );
}

async function applyNoShowChange(em: EntityManager, { inviteeUri, noShowAt, occurredAt }: NoShowChange): Promise<void> {
  // Every newer change is recorded, even one that does not flip the state, so that an older one arriving later
  // cannot undo it.
  const [row] = await em.execute<{ lead_id: string; organization: string | null; was_no_show: boolean }[]>(
    `with previous as (select id, no_show_at from meetings where invitee_uri = ? for update)
     update meetings set no_show_at = ?, no_show_changed_at = ?, updated_at = now()
     from previous
     where meetings.id = previous.id and (meetings.no_show_changed_at is null or meetings.no_show_changed_at <= ?)
     returning meetings.lead_id, meetings.organization, previous.no_show_at is not null as was_no_show`,
    [inviteeUri, noShowAt, occurredAt, occurredAt],
  );
  if (row && row.was_no_show !== (noShowAt !== null)) {
    await announce(em, inviteeUri, row.lead_id, row.organization, [noShowAt ? 'meeting.no_show' : 'meeting.no_show_removed']);
  }
}

async function announce(em: EntityManager, inviteeUri: string, leadId: string, organization: string | null, types: NewEvent['type'][]): Promise<void> {
  const meeting = await em.findOneOrFail(MeetingSchema, { inviteeUri }, { populate: ['lead'], refresh: true });
  for (const type of types) {
    const payload = type.startsWith('lead.')
      ? { lead: leadView(await em.findOneOrFail(LeadSchema, { id: leadId }, { refresh: true })) }
      : { meeting: meetingView(meeting) };
    await recordEvent(em, { type, organization, payload });
  }
}

function latest(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
