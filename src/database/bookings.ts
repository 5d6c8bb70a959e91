/**
 * Saves what Calendly says about invitees as leads and meetings, in one transaction, and appends to the outbox
 * the changes frontends hear about. Idempotent and order-independent: a retried or older read never creates a
 * second row, never overwrites newer data, and never announces the same change twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Booking, NoShowChange, SavedBooking } from '../contract';
import { emailKeyOf } from '../emails';
import { LeadSchema } from './entities/lead';
import { MeetingSchema } from './entities/meeting';
import { upsertLead } from './leads';
import { lockMeetingState, recordNoShowChange, upsertMeeting } from './meetings';
import { recordEvent, type NewEvent } from './outbox';
import { leadView, meetingView } from './views';

export async function saveBookings(
  em: EntityManager,
  bookings: Booking[],
  organization: string | null,
  noShowChange?: NoShowChange,
): Promise<SavedBooking[]> {
  return em.transactional(async (tx) => {
    await lockBookings(tx, bookings, organization);
    const saved: SavedBooking[] = [];
    for (const booking of bookings) saved.push(await saveBooking(tx, booking, organization));
    if (noShowChange) await applyNoShowChange(tx, noShowChange);
    return saved;
  });
}

/**
 * `for update` locks nothing while a meeting or lead does not exist yet, so two transactions saving the same invitee
 * (a reschedule's two deliveries each save both sides) would both see it as new and announce it twice. Advisory locks
 * per invitee and per lead serialize them; taken in one sorted order, two batches cannot deadlock.
 */
async function lockBookings(em: EntityManager, bookings: Booking[], organization: string | null): Promise<void> {
  const keys = new Set(bookings.flatMap(({ invitee }) => [`meeting:${invitee.uri}`, `lead:${organization}:${emailKeyOf(invitee.email)}`]));
  await em.execute('select pg_advisory_xact_lock(hashtext(key)) from jsonb_array_elements_text(?::jsonb) with ordinality as locks(key, position) order by position', [
    JSON.stringify([...keys].sort()),
  ]);
}

async function saveBooking(em: EntityManager, { event, invitee }: Booking, organization: string | null): Promise<SavedBooking> {
  const before = await lockMeetingState(em, invitee.uri);
  const { leadId, change } = await upsertLead(em, invitee, organization);
  await upsertMeeting(em, event, invitee, leadId, organization);
  const after = await lockMeetingState(em, invitee.uri);

  const events: NewEvent['type'][] = [];
  if (change) events.push(change === 'created' ? 'lead.created' : 'lead.updated');
  if (!before) events.push('meeting.created');
  if (after!.status !== 'active' && after!.status !== before?.status) events.push(`meeting.${after!.status}`);
  if (events.length) await announce(em, invitee.uri, leadId, organization, events);
  return { leadId, meetingId: after!.id, inviteeUri: invitee.uri };
}

async function applyNoShowChange(em: EntityManager, change: NoShowChange): Promise<void> {
  const applied = await recordNoShowChange(em, change);
  if (applied && applied.wasNoShow !== (change.noShowAt !== null)) {
    await announce(em, change.inviteeUri, applied.leadId, applied.organization, [change.noShowAt ? 'meeting.no_show' : 'meeting.no_show_removed']);
  }
}

async function announce(em: EntityManager, inviteeUri: string, leadId: string, organization: string | null, types: NewEvent['type'][]): Promise<void> {
  const meeting = await em.findOneOrFail(MeetingSchema, { inviteeUri }, { populate: ['lead'], refresh: true });
  // The meeting's lead is the invitee's, read with the meeting rather than again.
  const lead = meeting.lead.id === leadId ? meeting.lead : await em.findOneOrFail(LeadSchema, { id: leadId }, { refresh: true });
  for (const type of types) {
    const payload = type.startsWith('lead.') ? { lead: leadView(lead) } : { meeting: meetingView(meeting) };
    await recordEvent(em, { type, organization, payload });
  }
}
