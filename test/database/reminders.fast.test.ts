/** src/database/reminders.ts: planned once per offset, each sent at most once, and the next one due per meeting. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import {
  cancelScheduledReminders,
  fireReminder,
  failedReminderDeliveries,
  markOutboundDelivered,
  markOutboundFailed,
  nextScheduledReminders,
  outboundDelivered,
  planReminders,
} from '../../src/database/reminders';
import { booking, newEmail, newOrganization, openOrm, type BookingFields } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

const HOUR = 3_600;
const DAY = 24 * HOUR;

async function meetingOf(organization: string, fields: Omit<BookingFields, 'email'> = {}) {
  const stored = booking({ email: newEmail('reminded'), ...fields });
  const [saved] = await saveBookings(orm.em.fork(), [stored], organization, PERSONAL_TOKEN_CONNECTION_ID);
  return saved;
}

it('plans one reminder per offset, once, and skips those whose time has passed', async () => {
  const { meetingId } = await meetingOf(newOrganization(), { startTime: '2031-06-02T09:00:00.000Z' });
  const now = new Date('2031-06-02T07:00:00.000Z');
  const planned = await planReminders(orm.em.fork(), meetingId, [DAY, HOUR], now);
  expect(planned).toEqual([
    { reminderId: expect.any(String), offsetSeconds: DAY, fireAt: '2031-06-01T09:00:00.000Z', state: 'skipped' },
    { reminderId: expect.any(String), offsetSeconds: HOUR, fireAt: '2031-06-02T08:00:00.000Z', state: 'scheduled' },
  ]);
  expect(await planReminders(orm.em.fork(), meetingId, [DAY, HOUR], now)).toEqual(planned);
});

it('plans reminders as UTC instants before the start, unshifted by a daylight-saving change in between', async () => {
  // New York moves its clocks on 2027-03-14; the meeting is the day after, booked before.
  const { meetingId } = await meetingOf(newOrganization(), { startTime: '2027-03-15T13:00:00.000Z' });
  const planned = await planReminders(orm.em.fork(), meetingId, [DAY, HOUR, 15 * 60], new Date('2027-03-01T00:00:00.000Z'));
  expect(planned.map((reminder) => [reminder.fireAt, reminder.state])).toEqual([
    ['2027-03-14T13:00:00.000Z', 'scheduled'],
    ['2027-03-15T12:00:00.000Z', 'scheduled'],
    ['2027-03-15T12:45:00.000Z', 'scheduled'],
  ]);
});

it('skips every reminder of a meeting already begun when planned, and one whose meeting began before it fired', async () => {
  const { meetingId } = await meetingOf(newOrganization(), { startTime: '2031-06-02T09:00:00.000Z' });
  const planned = await planReminders(orm.em.fork(), meetingId, [HOUR, 15 * 60], new Date('2031-06-02T09:30:00.000Z'));
  expect(planned.map((reminder) => reminder.state)).toEqual(['skipped', 'skipped']);

  const organization = newOrganization();
  const late = await meetingOf(organization, { startTime: '2031-06-03T09:00:00.000Z' });
  const [reminder] = await planReminders(orm.em.fork(), late.meetingId, [HOUR], new Date('2031-06-01T00:00:00.000Z'));
  // e.g. no worker ran from before the reminder's time until after the start: it is not sent late.
  expect(await fireReminder(orm.em.fork(), reminder.reminderId, new Date('2031-06-03T09:00:00.000Z'))).toBe('skipped');
  expect(await orm.em.fork().count(OutboxEventSchema, { organization, type: 'reminder.sent' })).toBe(0);
});

it('sends a reminder once, with its outbox event, and cancels those of a canceled meeting', async () => {
  const organization = newOrganization();
  const { meetingId, inviteeUri } = await meetingOf(organization, { startTime: '2031-06-02T09:00:00.000Z' });
  const [reminder] = await planReminders(orm.em.fork(), meetingId, [HOUR], new Date('2031-06-01T00:00:00.000Z'));
  expect(await fireReminder(orm.em.fork(), reminder.reminderId, new Date('2031-06-02T08:00:00.000Z'))).toBe('sent');
  expect(await fireReminder(orm.em.fork(), reminder.reminderId, new Date('2031-06-02T08:00:01.000Z'))).toBe('sent');
  const events = await orm.em.fork().find(OutboxEventSchema, { organization, type: 'reminder.sent' });
  expect(events).toHaveLength(1);
  expect(events[0].payload).toMatchObject({ reminder: { id: reminder.reminderId, offsetSeconds: HOUR }, meeting: { id: meetingId, inviteeUri } });

  expect(await outboundDelivered(orm.em.fork(), reminder.reminderId)).toBe(false);
  await markOutboundDelivered(orm.em.fork(), reminder.reminderId);
  expect(await outboundDelivered(orm.em.fork(), reminder.reminderId)).toBe(true);

  const other = await meetingOf(organization, { startTime: '2031-06-03T09:00:00.000Z' });
  const [pending] = await planReminders(orm.em.fork(), other.meetingId, [HOUR, DAY], new Date('2031-06-01T00:00:00.000Z'));
  expect(await cancelScheduledReminders(orm.em.fork(), other.meetingId)).toBe(2);
  expect(await fireReminder(orm.em.fork(), pending.reminderId, new Date('2031-06-03T08:00:00.000Z'))).toBe('canceled');
});

it('finds the next scheduled reminder of the meetings asked for, and of no other', async () => {
  const now = new Date('2031-06-01T00:00:00.000Z');
  const first = await meetingOf(newOrganization(), { startTime: '2031-06-05T09:00:00.000Z' });
  const unplanned = await meetingOf(newOrganization(), { startTime: '2031-06-05T09:00:00.000Z' });
  const elsewhere = await meetingOf(newOrganization(), { startTime: '2031-06-04T09:00:00.000Z' });
  const [dayBefore, hourBefore] = await planReminders(orm.em.fork(), first.meetingId, [DAY, HOUR], now);
  await planReminders(orm.em.fork(), elsewhere.meetingId, [HOUR], now);

  const next = await nextScheduledReminders(orm.em.fork(), [first.meetingId, unplanned.meetingId]);
  expect([...next.keys()]).toEqual([first.meetingId]);
  expect(next.get(first.meetingId)).toMatchObject({ id: dayBefore.reminderId, offsetSeconds: DAY });

  // Once the day-before reminder has gone, the hour-before one is next.
  await fireReminder(orm.em.fork(), dayBefore.reminderId, new Date(dayBefore.fireAt));
  expect((await nextScheduledReminders(orm.em.fork(), [first.meetingId])).get(first.meetingId)).toMatchObject({ id: hourBefore.reminderId });
  expect((await nextScheduledReminders(orm.em.fork(), [])).size).toBe(0);
});

it('records a reminder the reminder webhook refused for good, once, and lists it for its organization', async () => {
  const organization = newOrganization();
  const { meetingId } = await meetingOf(organization);
  const [reminder] = await planReminders(orm.em.fork(), meetingId, [HOUR], new Date());
  expect(await outboundDelivered(orm.em.fork(), reminder.reminderId)).toBe(false);

  await markOutboundFailed(orm.em.fork(), reminder.reminderId, 'reminder webhook answered 404');
  await markOutboundFailed(orm.em.fork(), reminder.reminderId, 'reminder webhook answered 410');
  // Refused for good: not POSTed again.
  expect(await outboundDelivered(orm.em.fork(), reminder.reminderId)).toBe(true);
  expect(await failedReminderDeliveries(orm.em.fork(), organization, 10)).toEqual([
    { reminderId: reminder.reminderId, meetingId, offsetSeconds: HOUR, fireAt: new Date(reminder.fireAt), failedAt: expect.any(Date), failure: 'reminder webhook answered 404' },
  ]);
  expect(await failedReminderDeliveries(orm.em.fork(), newOrganization(), 10)).toEqual([]);
});
