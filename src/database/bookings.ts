/**
 * Saves what Calendly says about invitees as leads and meetings, in one transaction, and appends to the outbox
 * the changes frontends hear about. Idempotent and order-independent: a retried or older read never creates a
 * second row, never overwrites newer data, and never announces the same change twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Booking, NoShowChange, SavedBooking } from '../contract';
import { emailKeyOf } from '../emails';
import { MeetingSchema } from './entities/meeting';
import { upsertLead } from './leads';
import { lockMeetingState, recordNoShowChange, upsertMeeting } from './meetings';
import { recordEvent, recordEvents, type NewEvent } from './outbox';
import { leadView, meetingView } from './views';

/**
 * Everything is the organization's: a meeting another organization holds for the same invitee URI is neither read nor
 * changed. `connectionId`: the connection the bookings were read through.
 */
export async function saveBookings(
  em: EntityManager,
  bookings: Booking[],
  organization: string,
  connectionId: string,
  noShowChange?: NoShowChange,
): Promise<SavedBooking[]> {
  return em.transactional(async (tx) => {
    await lockBookings(tx, bookings, organization);
    const saved: SavedBooking[] = [];
    for (const booking of bookings) saved.push(await saveBooking(tx, booking, organization, connectionId));
    if (noShowChange) await applyNoShowChange(tx, organization, noShowChange);
    return saved;
  });
}

/**
 * `for update` locks nothing while a meeting or lead does not exist yet, so two transactions saving the same invitee
 * (a reschedule's two deliveries each save both sides) would both see it as new and announce it twice. Advisory locks
 * per invitee and per lead serialize them; taken in one sorted order, two batches cannot deadlock.
 */
async function lockBookings(em: EntityManager, bookings: Booking[], organization: string): Promise<void> {
  const keys = new Set(bookings.flatMap(({ invitee }) => [`meeting:${organization}:${invitee.uri}`, `lead:${organization}:${emailKeyOf(invitee.email)}`]));
  await em.execute('select pg_advisory_xact_lock(hashtext(key)) from jsonb_array_elements_text(?::jsonb) with ordinality as locks(key, position) order by position', [
    JSON.stringify([...keys].sort()),
  ]);
}

async function saveBooking(em: EntityManager, { event, invitee }: Booking, organization: string, connectionId: string): Promise<SavedBooking> {
  const before = await lockMeetingState(em, organization, invitee.uri);
  const { lead, change } = await upsertLead(em, invitee, organization);
  // Left as it was (the row holds a newer read), the meeting is as locked above: nothing to announce about it.
  const meeting = await upsertMeeting(em, event, invitee, lead.id, organization, connectionId);
  const after = meeting ?? before!;

  const events: NewEvent[] = [];
  if (change) events.push({ type: change === 'created' ? 'lead.created' : 'lead.updated', organization, payload: { lead: leadView(lead) } });
  if (meeting) {
    // Its lead is the one just stored (the same entity in this entity manager), so nothing is read again.
    const payload = { meeting: meetingView(meeting) };
    if (!before) events.push({ type: 'meeting.created', organization, payload });
    if (meeting.status !== 'active' && meeting.status !== before?.status) events.push({ type: `meeting.${meeting.status}`, organization, payload });
  }
  if (events.length) await recordEvents(em, events);
  return { leadId: lead.id, meetingId: after.id, inviteeUri: invitee.uri };
}

async function applyNoShowChange(em: EntityManager, organization: string, change: NoShowChange): Promise<void> {
  const applied = await recordNoShowChange(em, organization, change);
  if (applied && applied.wasNoShow !== (change.noShowAt !== null)) {
    const meeting = await em.findOneOrFail(MeetingSchema, { organization, inviteeUri: change.inviteeUri }, { populate: ['lead'], refresh: true });
    const type = change.noShowAt ? 'meeting.no_show' : 'meeting.no_show_removed';
    await recordEvent(em, { type, organization: applied.organization, payload: { meeting: meetingView(meeting) } });
  }
}
