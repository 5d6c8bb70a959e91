/**
 * Saves what Calendly says about one invitee as a lead and a meeting, in one transaction.
 * Idempotent and order-independent: a retried or older read never creates a second row nor overwrites newer data.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Invitee, ScheduledEvent } from '../calendly/schemas';

export interface SavedBooking {
  leadId: string;
  meetingId: string;
}

export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}

export async function saveBooking(em: EntityManager, event: ScheduledEvent, invitee: Invitee): Promise<SavedBooking> {
  return em.transactional(async (tx) => {
    const leadId = await upsertLead(tx, invitee);
    const meetingId = await upsertMeeting(tx, event, invitee, leadId);
    return { leadId, meetingId };
  });
}

async function upsertLead(em: EntityManager, invitee: Invitee): Promise<string> {
  // Details come from the most recent booking; first/last seen widen with every booking, in any order.
  const rows = await em.execute<{ id: string }[]>(
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
     returning id`,
    [
      emailKeyOf(invitee.email),
      invitee.email.trim(),
      invitee.name,
      invitee.first_name,
      invitee.last_name,
      invitee.timezone,
      invitee.text_reminder_number,
      invitee.created_at,
      invitee.created_at,
    ],
  );
  return rows[0].id;
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
  'lead_id',
] as const;

const JSON_COLUMNS: ReadonlySet<string> = new Set(['location', 'answers', 'tracking']);

async function upsertMeeting(em: EntityManager, event: ScheduledEvent, invitee: Invitee, leadId: string): Promise<string> {
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
    status: invitee.status,
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
    lead_id: leadId,
  };
  const placeholders = MEETING_COLUMNS.map((column) => (JSON_COLUMNS.has(column) ? '?::jsonb' : '?'));
  const updates = MEETING_COLUMNS.filter((column) => column !== 'invitee_uri').map((column) => `${column} = excluded.${column}`);
  await em.execute(
    `insert into meetings (${MEETING_COLUMNS.join(', ')}) values (${placeholders.join(', ')})
     on conflict (invitee_uri) do update set ${updates.join(', ')}, updated_at = now()
     where meetings.calendly_updated_at <= excluded.calendly_updated_at`,
    MEETING_COLUMNS.map((column) => values[column]),
  );
  // The update is skipped when the stored row is newer, so read the id rather than rely on RETURNING.
  const [row] = await em.execute<{ id: string }[]>('select id from meetings where invitee_uri = ?', [invitee.uri]);
  return row.id;
}

function latest(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
