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
import { integer, nullable, oneOf, queryRow, queryRows, rowShape, text, timestamp } from './rows';
import { meetingView } from './views';

const REMINDER_STATES = ['scheduled', 'sent', 'canceled', 'skipped'] as const satisfies readonly ReminderState[];
const plannedRow = rowShape({ id: text, offsetSeconds: integer, fireAt: timestamp, state: oneOf(REMINDER_STATES) });
/** A reminder (`r`) with its meeting's (`m`) status, start and organization. */
const firingRow = rowShape({ state: oneOf(REMINDER_STATES), meetingId: text, status: text, startTime: timestamp, organization: nullable(text) });
const noticeRow = rowShape({ id: text, meetingId: text, offsetSeconds: integer, fireAt: timestamp, sentAt: nullable(timestamp) });
const outboundOutcomeRow = rowShape({ outboundDeliveredAt: nullable(timestamp), outboundFailedAt: nullable(timestamp) });
const failedDeliveryRow = rowShape({ id: text, meetingId: text, offsetSeconds: integer, fireAt: timestamp, outboundFailedAt: timestamp, outboundFailure: text });

const planned = (row: ReturnType<typeof plannedRow.read>): PlannedReminder => ({
  reminderId: row.id,
  offsetSeconds: row.offsetSeconds,
  fireAt: row.fireAt.toISOString(),
  state: row.state,
});

/** Times are UTC instants (start minus offset), so a daylight-saving change in the invitee's zone cannot shift them. */
export async function planReminders(em: EntityManager, meetingId: string, offsetsSeconds: number[], now: Date): Promise<PlannedReminder[]> {
  // One statement, as it runs for every booking: the new rows (returned by the insert) and those planned before
  // (seen by the select, which cannot see the new ones).
  const plan = () =>
    queryRows(
      em,
      plannedRow,
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
    const row = await queryRow(
      tx,
      firingRow,
      `select r.state, r.meeting_id, m.status, m.start_time, m.organization
       from reminders r join meetings m on m.id = r.meeting_id where r.id = ? for update of r`,
      [reminderId],
    );
    if (!row) throw new Error(`no reminder ${reminderId}`);
    if (row.state !== 'scheduled') return row.state;
    const state: ReminderState = row.status !== 'active' ? 'canceled' : now >= row.startTime ? 'skipped' : 'sent';
    await tx.execute(`update reminders set state = ?, ${state}_at = ?, updated_at = now() where id = ?`, [state, now, reminderId]);
    if (state === 'sent') {
      await recordEvent(tx, { type: 'reminder.sent', organization: row.organization, payload: await reminderNotice(tx, reminderId) });
    }
    return state;
  });
}

export async function cancelScheduledReminders(em: EntityManager, meetingId: string): Promise<number> {
  const rows = await em.execute(
    `update reminders set state = 'canceled', canceled_at = now(), updated_at = now() where meeting_id = ? and state = 'scheduled' returning id`,
    [meetingId],
  );
  return rows.length;
}

/** What a sent reminder says, to the websocket and to the reminder webhook alike. */
export async function reminderNotice(em: EntityManager, reminderId: string) {
  const [reminder] = await queryRows(em, noticeRow, `select ${noticeRow.columns} from reminders where id = ?`, [reminderId]);
  const meeting = await em.findOneOrFail(MeetingSchema, { id: reminder.meetingId }, { populate: ['lead'], refresh: true });
  return {
    reminder: { id: reminder.id, offsetSeconds: reminder.offsetSeconds, fireAt: reminder.fireAt, sentAt: reminder.sentAt },
    meeting: meetingView(meeting),
  };
}

/** Records that the reminder webhook accepted this reminder (the first time only). */
export async function markOutboundDelivered(em: EntityManager, reminderId: string): Promise<void> {
  await em.execute('update reminders set outbound_delivered_at = now(), updated_at = now() where id = ? and outbound_delivered_at is null', [reminderId]);
}

/** Delivered, or refused for good: either way the reminder webhook is not called again for it. */
export async function outboundDelivered(em: EntityManager, reminderId: string): Promise<boolean> {
  const row = await queryRow(em, outboundOutcomeRow, `select ${outboundOutcomeRow.columns} from reminders where id = ?`, [reminderId]);
  return Boolean(row?.outboundDeliveredAt || row?.outboundFailedAt);
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
  const rows = await queryRows(
    em,
    failedDeliveryRow,
    `select ${failedDeliveryRow.columnsOf('r')}
     from reminders r join meetings m on m.id = r.meeting_id
     where r.outbound_failed_at is not null and (?::text is null or m.organization = ?)
     order by r.outbound_failed_at desc, r.id limit ?`,
    [organization ?? null, organization ?? null, limit],
  );
  return rows.map((row) => ({
    reminderId: row.id,
    meetingId: row.meetingId,
    offsetSeconds: row.offsetSeconds,
    fireAt: row.fireAt,
    failedAt: row.outboundFailedAt,
    failure: row.outboundFailure,
  }));
}

/** Each meeting's earliest reminder still scheduled, by meeting id; a meeting with none is absent. */
export async function nextScheduledReminders(em: EntityManager, meetingIds: string[]): Promise<Map<string, Reminder>> {
  const next = new Map<string, Reminder>();
  const scheduled = await em.find(ReminderSchema, { meeting: { $in: meetingIds }, state: 'scheduled' }, { orderBy: { fireAt: 'asc' } });
  for (const reminder of scheduled) if (!next.has(reminder.meeting.id)) next.set(reminder.meeting.id, reminder);
  return next;
}
