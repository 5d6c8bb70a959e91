/**
 * The reminders table: planned when a meeting's workflow starts, then each reminder moves once from scheduled to
 * sent, canceled or skipped. The move to sent happens in the same transaction as its outbox event, so a retried
 * activity can never send a reminder twice.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { PlannedReminder, ReminderState } from '../contract';
import { MeetingSchema } from './entities/meeting';
import { ReminderSchema, type Reminder } from './entities/reminder';
import { recordEvent } from './outbox';
import { meetingView } from './views';

/** Raw rows: timestamps come back as strings. */
interface ReminderRow {
  id: string;
  offset_seconds: number;
  fire_at: string;
  state: ReminderState;
}

const planned = (row: ReminderRow): PlannedReminder => ({
  reminderId: row.id,
  offsetSeconds: row.offset_seconds,
  fireAt: new Date(row.fire_at).toISOString(),
  state: row.state,
});

/** Times are UTC instants (start minus offset), so a daylight-saving change in the invitee's zone cannot shift them. */
export async function planReminders(em: EntityManager, meetingId: string, offsetsSeconds: number[], now: Date): Promise<PlannedReminder[]> {
  // One statement, as it runs for every booking: the new rows (returned by the insert) and those planned before
  // (seen by the select, which cannot see the new ones).
  const plan = () =>
    em.execute<ReminderRow[]>(
      `with added as (
         insert into reminders (meeting_id, offset_seconds, fire_at, state, skipped_at)
         select id, offset_seconds, fire_at, case when fire_at > ? then 'scheduled' else 'skipped' end, case when fire_at > ? then null else ?::timestamptz end
         from (select m.id, o.value::int as offset_seconds, m.start_time - make_interval(secs => o.value::int) as fire_at
               from meetings m, jsonb_array_elements_text(?::jsonb) o where m.id = ?) planned
         on conflict (meeting_id, offset_seconds) do nothing
         returning id, offset_seconds, fire_at, state
       )
       select * from added
       union all
       select id, offset_seconds, fire_at, state from reminders where meeting_id = ? and offset_seconds in (select value::int from jsonb_array_elements_text(?::jsonb))
       order by fire_at`,
      [now, now, now, JSON.stringify(offsetsSeconds), meetingId, meetingId, JSON.stringify(offsetsSeconds)],
    );
  let rows = await plan();
  // A plan of the same meeting committing meanwhile made ours skip rows it had not committed when ours started.
  if (rows.length < offsetsSeconds.length) rows = await plan();
  return rows.map(planned);
}

/**
 * Sends a scheduled reminder once: it becomes sent, with a `reminder.sent` outbox event, unless the meeting is no
 * longer active (canceled) or has already begun (skipped). Any other state is returned unchanged.
 */
export async function fireReminder(em: EntityManager, reminderId: string, now: Date): Promise<ReminderState> {
  return em.transactional(async (tx) => {
    const [row] = await tx.execute<{ state: ReminderState; meeting_id: string; status: string; start_time: string; organization: string | null }[]>(
      `select r.state, r.meeting_id, m.status, m.start_time, m.organization
       from reminders r join meetings m on m.id = r.meeting_id where r.id = ? for update of r`,
      [reminderId],
    );
    if (!row) throw new Error(`no reminder ${reminderId}`);
    if (row.state !== 'scheduled') return row.state;
    const state: ReminderState = row.status !== 'active' ? 'canceled' : now >= new Date(row.start_time) ? 'skipped' : 'sent';
    await tx.execute(`update reminders set state = ?, ${state}_at = ?, updated_at = now() where id = ?`, [state, now, reminderId]);
    if (state === 'sent') {
      await recordEvent(tx, { type: 'reminder.sent', organization: row.organization, payload: await reminderNotice(tx, reminderId) });
    }
    return state;
  });
}

export async function cancelScheduledReminders(em: EntityManager, meetingId: string): Promise<number> {
  const rows = await em.execute<{ id: string }[]>(
    `update reminders set state = 'canceled', canceled_at = now(), updated_at = now() where meeting_id = ? and state = 'scheduled' returning id`,
    [meetingId],
  );
  return rows.length;
}

/** What a sent reminder says, to the websocket and to the reminder webhook alike. */
export async function reminderNotice(em: EntityManager, reminderId: string) {
  const [reminder] = await em.execute<{ id: string; meeting_id: string; offset_seconds: number; fire_at: string; sent_at: string | null }[]>(
    'select id, meeting_id, offset_seconds, fire_at, sent_at from reminders where id = ?',
    [reminderId],
  );
  const meeting = await em.findOneOrFail(MeetingSchema, { id: reminder.meeting_id }, { populate: ['lead'], refresh: true });
  return {
    reminder: { id: reminder.id, offsetSeconds: reminder.offset_seconds, fireAt: new Date(reminder.fire_at), sentAt: reminder.sent_at && new Date(reminder.sent_at) },
    meeting: meetingView(meeting),
  };
}

/** Records that the reminder webhook accepted this reminder (the first time only). */
export async function markOutboundDelivered(em: EntityManager, reminderId: string): Promise<void> {
  await em.execute('update reminders set outbound_delivered_at = now(), updated_at = now() where id = ? and outbound_delivered_at is null', [reminderId]);
}

/** Delivered, or refused for good: either way the reminder webhook is not called again for it. */
export async function outboundDelivered(em: EntityManager, reminderId: string): Promise<boolean> {
  const [row] = await em.execute<{ outbound_delivered_at: string | null; outbound_failed_at: string | null }[]>(
    'select outbound_delivered_at, outbound_failed_at from reminders where id = ?',
    [reminderId],
  );
  return Boolean(row?.outbound_delivered_at || row?.outbound_failed_at);
}

/** Records that the reminder webhook refused this reminder for good (e.g. it answered 404); the first time only. */
export async function markOutboundFailed(em: EntityManager, reminderId: string, failure: string): Promise<void> {
  await em.execute(
    `update reminders set outbound_failed_at = now(), outbound_failure = ?, updated_at = now()
     where id = ? and outbound_delivered_at is null and outbound_failed_at is null`,
    [failure, reminderId],
  );
}

export interface FailedReminderDelivery {
  reminderId: string;
  meetingId: string;
  offsetSeconds: number;
  fireAt: Date;
  failedAt: Date;
  failure: string;
}

/** Reminders the reminder webhook refused for good, latest first; of one organization when it is given. */
export async function failedReminderDeliveries(em: EntityManager, organization: string | undefined, limit: number): Promise<FailedReminderDelivery[]> {
  const rows = await em.execute<{ id: string; meeting_id: string; offset_seconds: number; fire_at: string; outbound_failed_at: string; outbound_failure: string }[]>(
    `select r.id, r.meeting_id, r.offset_seconds, r.fire_at, r.outbound_failed_at, r.outbound_failure
     from reminders r join meetings m on m.id = r.meeting_id
     where r.outbound_failed_at is not null and (?::text is null or m.organization = ?)
     order by r.outbound_failed_at desc, r.id limit ?`,
    [organization ?? null, organization ?? null, limit],
  );
  return rows.map((row) => ({
    reminderId: row.id,
    meetingId: row.meeting_id,
    offsetSeconds: row.offset_seconds,
    fireAt: new Date(row.fire_at),
    failedAt: new Date(row.outbound_failed_at),
    failure: row.outbound_failure,
  }));
}

/** Each meeting's earliest reminder still scheduled, by meeting id; a meeting with none is absent. */
export async function nextScheduledReminders(em: EntityManager, meetingIds: string[]): Promise<Map<string, Reminder>> {
  const next = new Map<string, Reminder>();
  const scheduled = await em.find(ReminderSchema, { meeting: { $in: meetingIds }, state: 'scheduled' }, { orderBy: { fireAt: 'asc' } });
  for (const reminder of scheduled) if (!next.has(reminder.meeting.id)) next.set(reminder.meeting.id, reminder);
  return next;
}
