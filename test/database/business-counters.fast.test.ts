/**
 * src/database/business-counters.ts: the business view of several organizations' meetings, checked against bookings
 * made here at known times, with a fixed "now" so that every period is known: counts, revenue per currency (payments
 * and the configured amounts side by side, never converted) and the bookings day by day.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { businessCounters, meetingValue } from '../../src/database/business-counters';
import type { Payment } from '../../src/calendly/schemas';
import type { NoShowChange } from '../../src/contract';
import { booking, newEmail, newOrganization, openOrm, type BookingFields } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

const NOW = new Date('2030-03-10T12:00:00.000Z');
const INTRO = 'https://api.calendly.com/event_types/INTRO';
const OTHER = 'https://api.calendly.com/event_types/OTHER';
const revenue = { currency: 'USD', perBooking: 20, byEventType: [{ eventTypeUri: INTRO, amount: 100 }] };
const usd = (amount: number) => [{ currency: 'USD', amount }];

let orm: MikroORM;
const organization = newOrganization();
const otherOrganization = newOrganization();

interface SaveOptions {
  eventType?: string;
  noShowAt?: string;
  payment?: Partial<Payment> & Pick<Payment, 'amount' | 'currency'>;
}

async function save(owner: string, fields: Omit<BookingFields, 'email'>, options: SaveOptions = {}) {
  const stored = booking({ email: newEmail('business'), ...fields });
  if (options.eventType) stored.event.event_type = options.eventType;
  if (options.payment) stored.invitee.payment = { external_id: 'ch_1', provider: 'stripe', terms: null, successful: true, ...options.payment };
  const noShow: NoShowChange | undefined = options.noShowAt
    ? { inviteeUri: stored.invitee.uri, noShowAt: options.noShowAt, occurredAt: options.noShowAt }
    : undefined;
  await saveBookings(orm.em.fork(), [stored], owner, PERSONAL_TOKEN_CONNECTION_ID, noShow);
  return stored;
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
    bookedRevenue: usd(200),
    heldRevenue: usd(100),
    byEventType: [{ eventTypeUri: INTRO, name: 'Intro call', booked: 2, held: 1, bookedRevenue: usd(200), heldRevenue: usd(100) }],
    formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
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
    // The canceled one no longer counts; the one booked on the 2nd (OTHER) was booked before the period.
    bookedRevenue: usd(300),
    heldRevenue: usd(120),
    byEventType: [
      { eventTypeUri: INTRO, name: 'Intro call', booked: 4, held: 1, bookedRevenue: usd(300), heldRevenue: usd(100) },
      { eventTypeUri: OTHER, name: 'Intro call', booked: 0, held: 1, bookedRevenue: [], heldRevenue: usd(20) },
    ],
    formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
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
    // The moved one counts as its replacement (OTHER, 20), once.
    bookedRevenue: usd(420),
    heldRevenue: usd(120),
    byEventType: [
      { eventTypeUri: INTRO, name: 'Intro call', booked: 6, held: 1, bookedRevenue: usd(400), heldRevenue: usd(100) },
      { eventTypeUri: OTHER, name: 'Intro call', booked: 1, held: 1, bookedRevenue: usd(20), heldRevenue: usd(20) },
    ],
    formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  expect(figures.range).toBeNull();
});

it('never counts another organization’s meetings', async () => {
  const figures = await counters(otherOrganization);
  const one = { booked: 1, canceled: 0, rescheduled: 0, noShow: 0, held: 1, heldRate: 1, bookedRevenue: usd(100), heldRevenue: usd(100) };
  expect(figures.today).toMatchObject(one);
  expect(figures.last30Days).toMatchObject(one);
  expect(figures.daily.days.filter((day) => day.booked > 0)).toEqual([expect.objectContaining({ day: '2030-03-10', booked: 1, bookedRevenue: usd(100) })]);
  const none = await counters(newOrganization());
  expect(none.last30Days).toMatchObject({ booked: 0, held: 0, heldRate: null, bookedRevenue: [], heldRevenue: [], byEventType: [] });
  expect(none.daily.days.every((day) => day.booked === 0 && day.bookedRevenue.length === 0)).toBe(true);
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
    // Its only booking was moved since: it is worth nothing any more, its replacement counts on the 2nd.
    bookedRevenue: [],
    heldRevenue: [],
    byEventType: [{ eventTypeUri: INTRO, name: 'Intro call', booked: 1, held: 0, bookedRevenue: [], heldRevenue: [] }],
    formSubmissions: 0, bookedFromForms: 0, bookingRate: null,
  });
  const through = { from: range.from, to: new Date('2030-03-02T09:00:00.001Z') };
  expect((await counters(organization, { range: through })).range).toMatchObject({ booked: 2, rescheduled: 1 });
});

it('draws the last 30 days day by day, which add up to the period', async () => {
  const { last30Days, daily } = await counters(organization);
  expect(daily.from).toEqual(last30Days.from);
  expect(daily.to).toEqual(last30Days.to);
  expect(daily.days).toHaveLength(30);
  expect(daily.days[0]).toMatchObject({ day: '2030-02-09', from: new Date('2030-02-09T00:00:00.000Z'), to: new Date('2030-02-10T00:00:00.000Z') });
  const byDay = Object.fromEntries(daily.days.map(({ day, booked, canceled, noShow, bookedRevenue }) => [day, { booked, canceled, noShow, bookedRevenue }]));
  expect(byDay['2030-03-10']).toEqual({ booked: 2, canceled: 0, noShow: 0, bookedRevenue: usd(200) });
  expect(byDay['2030-03-09']).toEqual({ booked: 1, canceled: 0, noShow: 0, bookedRevenue: usd(100) });
  expect(byDay['2030-03-08']).toEqual({ booked: 0, canceled: 1, noShow: 0, bookedRevenue: [] });
  expect(byDay['2030-03-06']).toEqual({ booked: 0, canceled: 0, noShow: 1, bookedRevenue: [] });
  // Booked on the 1st and moved on the 2nd: only the replacement, booked on the 2nd, is worth something.
  expect(byDay['2030-03-01']).toEqual({ booked: 1, canceled: 0, noShow: 0, bookedRevenue: [] });
  expect(byDay['2030-03-02']).toEqual({ booked: 1, canceled: 0, noShow: 0, bookedRevenue: usd(20) });
  const sum = (pick: (day: (typeof daily.days)[number]) => number) => daily.days.reduce((total, day) => total + pick(day), 0);
  expect(sum((day) => day.booked)).toBe(last30Days.booked);
  expect(sum((day) => day.canceled)).toBe(last30Days.canceled);
  expect(sum((day) => day.noShow)).toBe(last30Days.noShow);
  expect(sum((day) => day.bookedRevenue.reduce((total, money) => total + money.amount, 0))).toBe(420);
});

it('draws a chosen period by the days of the time zone, cut at its ends', async () => {
  const range = { from: new Date('2030-03-09T12:00:00.000Z'), to: new Date('2030-03-10T12:00:00.000Z') };
  const { daily } = await counters(organization, { timezone: 'Europe/Berlin', range });
  expect(daily).toEqual({
    ...range,
    days: [
      // 23:30 UTC on the 9th is the 10th in Berlin
      { day: '2030-03-09', from: range.from, to: new Date('2030-03-09T23:00:00.000Z'), booked: 0, canceled: 0, noShow: 0, bookedRevenue: [] },
      { day: '2030-03-10', from: new Date('2030-03-09T23:00:00.000Z'), to: range.to, booked: 3, canceled: 0, noShow: 0, bookedRevenue: usd(300) },
    ],
  });
});

describe('paid meetings', () => {
  const paid = newOrganization();
  const today = { bookedAt: '2030-03-10T08:00:00.000Z', at: '2030-03-10T08:00:00.000Z', startTime: '2030-03-10T09:00:00.000Z' };

  beforeAll(async () => {
    // Held today, worth their payments: a number, and a decimal string as Calendly also sends them.
    await save(paid, today, { eventType: OTHER, payment: { amount: 49.9, currency: 'EUR' } });
    await save(paid, today, { payment: { amount: '120.50', currency: 'GBP', provider: 'paypal' } });
    // A payment that did not go through: worth its event type's configured amount, in REVENUE_CURRENCY.
    await save(paid, today, { payment: { amount: 999, currency: 'EUR', successful: false } });
    // Moved: the payment counts once, with the replacement.
    await save(paid, { ...today, startTime: '2030-03-12T09:00:00.000Z', status: 'canceled', rescheduled: true }, { eventType: OTHER, payment: { amount: 10, currency: 'EUR' } });
    await save(paid, { ...today, startTime: '2030-03-13T09:00:00.000Z' }, { eventType: OTHER, payment: { amount: 10, currency: 'EUR' } });
  });

  it('counts each currency apart, side by side, never converted', async () => {
    const { today: figures, daily } = await counters(paid);
    expect(figures).toMatchObject({
      booked: 5,
      held: 3,
      bookedRevenue: [
        { currency: 'EUR', amount: 59.9 },
        { currency: 'GBP', amount: 120.5 },
        { currency: 'USD', amount: 100 },
      ],
      heldRevenue: [
        { currency: 'EUR', amount: 49.9 },
        { currency: 'GBP', amount: 120.5 },
        { currency: 'USD', amount: 100 },
      ],
      byEventType: [
        // as many meetings each (4): by URI
        {
          eventTypeUri: INTRO,
          name: 'Intro call',
          booked: 2,
          held: 2,
          bookedRevenue: [{ currency: 'GBP', amount: 120.5 }, { currency: 'USD', amount: 100 }],
          heldRevenue: [{ currency: 'GBP', amount: 120.5 }, { currency: 'USD', amount: 100 }],
        },
        { eventTypeUri: OTHER, name: 'Intro call', booked: 3, held: 1, bookedRevenue: [{ currency: 'EUR', amount: 59.9 }], heldRevenue: [{ currency: 'EUR', amount: 49.9 }] },
      ],
    });
    expect(daily.days.find((day) => day.day === '2030-03-10')?.bookedRevenue).toEqual(figures.bookedRevenue);
  });

  it('lowers the booked revenue when a paid meeting is canceled', async () => {
    const owner = newOrganization();
    const fields = { bookedAt: '2030-03-10T08:00:00.000Z', at: '2030-03-10T08:00:00.000Z', startTime: '2030-03-20T09:00:00.000Z' };
    const kept = await save(owner, fields, { payment: { amount: 30, currency: 'CAD' } });
    const dropped = await save(owner, fields, { payment: { amount: 45, currency: 'CAD' } });
    expect((await counters(owner)).today.bookedRevenue).toEqual([{ currency: 'CAD', amount: 75 }]);

    await save(owner, { ...fields, at: '2030-03-10T10:00:00.000Z', status: 'canceled', inviteeUri: dropped.invitee.uri }, { payment: { amount: 45, currency: 'CAD' } });
    const after = await counters(owner);
    expect(after.today).toMatchObject({ booked: 2, canceled: 1, bookedRevenue: [{ currency: 'CAD', amount: 30 }] });
    expect(after.daily.days.find((day) => day.day === '2030-03-10')).toMatchObject({ booked: 2, canceled: 1, bookedRevenue: [{ currency: 'CAD', amount: 30 }] });
    expect(kept.invitee.payment).not.toBeNull();
  });

  it('shows no organization another one’s payments', async () => {
    for (const owner of [organization, otherOrganization]) {
      const { last30Days, daily } = await counters(owner);
      const currencies = [...last30Days.bookedRevenue, ...last30Days.heldRevenue, ...daily.days.flatMap((day) => day.bookedRevenue)].map((money) => money.currency);
      expect(new Set(currencies)).toEqual(new Set(['USD']));
    }
  });

  it('values one meeting by the same rule', () => {
    const meeting = { eventTypeUri: INTRO, paymentAmount: '49.90', paymentCurrency: 'EUR', paymentSuccessful: true };
    expect(meetingValue(meeting, revenue)).toEqual({ currency: 'EUR', amount: 49.9, source: 'payment' });
    expect(meetingValue({ ...meeting, paymentSuccessful: false }, revenue)).toEqual({ currency: 'USD', amount: 100, source: 'event_type' });
    expect(meetingValue({ eventTypeUri: OTHER, paymentAmount: null, paymentCurrency: null, paymentSuccessful: null }, revenue)).toEqual({
      currency: 'USD',
      amount: 20,
      source: 'per_booking',
    });
  });
});
