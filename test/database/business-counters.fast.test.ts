/**
 * src/database/business-counters.ts: the business view of two organizations' meetings, checked against bookings made
 * here at known times, with a fixed "now" so that every period is known.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { businessCounters } from '../../src/database/business-counters';
import type { NoShowChange } from '../../src/contract';
import { booking, newEmail, newOrganization, openOrm, type BookingFields } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

const NOW = new Date('2030-03-10T12:00:00.000Z');
const INTRO = 'https://api.calendly.com/event_types/INTRO';
const OTHER = 'https://api.calendly.com/event_types/OTHER';
const revenue = { perBooking: 20, byEventType: [{ eventTypeUri: INTRO, amount: 100 }] };

let orm: MikroORM;
const organization = newOrganization();
const otherOrganization = newOrganization();

async function save(owner: string, fields: Omit<BookingFields, 'email'>, options: { eventType?: string; noShowAt?: string } = {}) {
  const stored = booking({ email: newEmail('business'), ...fields });
  if (options.eventType) stored.event.event_type = options.eventType;
  const noShow: NoShowChange | undefined = options.noShowAt
    ? { inviteeUri: stored.invitee.uri, noShowAt: options.noShowAt, occurredAt: options.noShowAt }
    : undefined;
  await saveBookings(orm.em.fork(), [stored], owner, PERSONAL_TOKEN_CONNECTION_ID, noShow);
}

const counters = (owner: string, extra: { timezone?: string; range?: { from: Date; to: Date } } = {}) =>
  businessCounters(orm.em.fork(), { organization: owner, timezone: extra.timezone ?? 'UTC', now: NOW, range: extra.range, revenue });

beforeAll(async () => {
  orm = await openOrm();
  // held today, worth 100 (its event type's value)
  await save(organization, { bookedAt: '2030-03-10T09:00:00.000Z', at: '2030-03-10T09:00:00.000Z', startTime: '2030-03-10T10:00:00.000Z' }, { eventType: INTRO });
  // canceled on the 8th, before its start on the 9th
  await save(organization, { bookedAt: '2030-03-05T09:00:00.000Z', at: '2030-03-08T09:00:00.000Z', startTime: '2030-03-09T10:00:00.000Z', status: 'canceled' });
  // booked 18 days ago, the invitee did not show up on the 6th
  await save(organization, { bookedAt: '2030-02-20T09:00:00.000Z', at: '2030-02-20T09:00:00.000Z', startTime: '2030-03-06T10:00:00.000Z' }, { noShowAt: '2030-03-06T10:20:00.000Z' });
  // booked on the 1st and moved on the 2nd; the replacement (booked on the 2nd) was held on the 8th, worth the default 20
  await save(organization, { bookedAt: '2030-03-01T09:00:00.000Z', at: '2030-03-02T09:00:00.000Z', startTime: '2030-03-07T10:00:00.000Z', status: 'canceled', rescheduled: true });
  await save(organization, { bookedAt: '2030-03-02T09:00:00.000Z', at: '2030-03-02T09:00:00.000Z', startTime: '2030-03-08T10:00:00.000Z' }, { eventType: OTHER });
  // booked today and late yesterday (UTC: today in Berlin), both still ahead
  await save(organization, { bookedAt: '2030-03-10T09:30:00.000Z', at: '2030-03-10T09:30:00.000Z', startTime: '2030-03-20T10:00:00.000Z' });
  await save(organization, { bookedAt: '2030-03-09T23:30:00.000Z', at: '2030-03-09T23:30:00.000Z', startTime: '2030-03-25T10:00:00.000Z' });
  // the other organization: one meeting booked and held today
  await save(otherOrganization, { bookedAt: '2030-03-10T08:00:00.000Z', at: '2030-03-10T08:00:00.000Z', startTime: '2030-03-10T09:00:00.000Z' }, { eventType: INTRO });
});
afterAll(() => orm.close());

it('counts today, the last 7 and 30 days of one organization, by when each thing happened', async () => {
  const figures = await counters(organization);
  expect(figures.timezone).toBe('UTC');
  expect(figures.today).toEqual({
    from: new Date('2030-03-10T00:00:00.000Z'),
    to: new Date('2030-03-11T00:00:00.000Z'),
    booked: 2,
    canceled: 0,
    rescheduled: 0,
    noShow: 0,
    held: 1,
    heldRate: 1,
    revenue: 100, formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  // Over: the held ones of the 10th and 8th, the canceled one of the 9th, the no-show of the 6th; not the moved one.
  expect(figures.last7Days).toEqual({
    from: new Date('2030-03-04T00:00:00.000Z'),
    to: new Date('2030-03-11T00:00:00.000Z'),
    booked: 4,
    canceled: 1,
    rescheduled: 0,
    noShow: 1,
    held: 2,
    heldRate: 0.5,
    revenue: 120, formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  expect(figures.last30Days).toEqual({
    from: new Date('2030-02-09T00:00:00.000Z'),
    to: new Date('2030-03-11T00:00:00.000Z'),
    booked: 7,
    canceled: 1,
    rescheduled: 1,
    noShow: 1,
    held: 2,
    heldRate: 0.5,
    revenue: 120, formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  expect(figures.range).toBeNull();
});

it('never counts another organization’s meetings', async () => {
  const figures = await counters(otherOrganization);
  expect(figures.today).toMatchObject({ booked: 1, canceled: 0, rescheduled: 0, noShow: 0, held: 1, heldRate: 1, revenue: 100 });
  expect(figures.last30Days).toMatchObject({ booked: 1, canceled: 0, rescheduled: 0, noShow: 0, held: 1, heldRate: 1, revenue: 100 });
  expect((await counters(newOrganization())).last30Days).toMatchObject({ booked: 0, held: 0, heldRate: null, revenue: 0 });
});

it('starts the days at midnight in the given time zone', async () => {
  const figures = await counters(organization, { timezone: 'Europe/Berlin' });
  expect(figures.timezone).toBe('Europe/Berlin');
  expect(figures.today).toMatchObject({ from: new Date('2030-03-09T23:00:00.000Z'), to: new Date('2030-03-10T23:00:00.000Z'), booked: 3 });
});

it('counts a chosen period, its end excluded', async () => {
  const range = { from: new Date('2030-03-01T09:00:00.000Z'), to: new Date('2030-03-02T09:00:00.000Z') };
  expect((await counters(organization, { range })).range).toEqual({
    ...range,
    booked: 1,
    canceled: 0,
    rescheduled: 0,
    noShow: 0,
    held: 0,
    heldRate: null,
    revenue: 0, formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  const through = { from: range.from, to: new Date('2030-03-02T09:00:00.001Z') };
  expect((await counters(organization, { range: through })).range).toMatchObject({ booked: 2, rescheduled: 1 });
});
