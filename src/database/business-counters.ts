/**
 * The business view of the meetings: per period, how many were booked, canceled, rescheduled and missed (no-show),
 * how many of those that took place were held, and what the booked and the held ones are worth, in total and per
 * event type; and per day of a period, for the dashboard's chart. Each count is taken by the time of what it counts:
 * a booking by when it was made, a cancellation or a reschedule by when it happened, a no-show and a held meeting by
 * the meeting's start. Days start at midnight in the given time zone (IANA name, checked by the caller), so "today"
 * and the last 7 and 30 days follow its daylight-saving changes.
 *
 * What a meeting is worth (`meetingValue`, and the same rule in SQL): its invitee's successful Calendly payment, in
 * the payment's currency; else REVENUE_BY_EVENT_TYPE for its event type, else REVENUE_PER_BOOKING, in
 * REVENUE_CURRENCY. Amounts of different currencies are summed apart, never converted.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Meeting } from './entities/meeting';
import { formFiguresOf, type FormFigures } from './routing-form-submissions';
import { boolean, integer, nullable, oneOf, queryRows, rowShape, text, timestamp } from './rows';

/** An amount of one currency (ISO 4217 code), in its major unit (e.g. 49.9 dollars). */
export interface Money {
  currency: string;
  amount: number;
}

export interface EventTypeFigures {
  eventTypeUri: string;
  /** the name of its latest meeting of the period */
  name: string | null;
  booked: number;
  held: number;
  bookedRevenue: Money[];
  heldRevenue: Money[];
}

export interface BusinessFigures extends FormFigures {
  from: Date;
  /** exclusive */
  to: Date;
  booked: number;
  canceled: number;
  rescheduled: number;
  noShow: number;
  /** meetings of the period that have ended and were neither canceled nor marked as no-show */
  held: number;
  /** held / the meetings of the period that have ended (a rescheduled one is counted as its replacement); null: none */
  heldRate: number | null;
  /** what the meetings booked in the period and still booked (neither canceled nor moved) are worth, per currency */
  bookedRevenue: Money[];
  /** what the held meetings are worth, per currency */
  heldRevenue: Money[];
  /** the event types with a meeting booked or held in the period, most such meetings first, at most EVENT_TYPES_LIMIT */
  byEventType: EventTypeFigures[];
}

/** One day of the chart, from midnight to midnight in the time zone (clipped to the period at its ends). */
export interface BookingDay {
  /** the local date, YYYY-MM-DD */
  day: string;
  from: Date;
  to: Date;
  booked: number;
  canceled: number;
  noShow: number;
  bookedRevenue: Money[];
}

export interface BusinessCounters {
  timezone: string;
  today: BusinessFigures;
  last7Days: BusinessFigures;
  last30Days: BusinessFigures;
  /** the chosen from/to period; null when none was asked for */
  range: BusinessFigures | null;
  /** the chosen period day by day, else the last 30 days */
  daily: { from: Date; to: Date; days: BookingDay[] };
}

export interface BusinessCountersQuery {
  /** only this organization's meetings; all organizations when undefined */
  organization: string | undefined;
  timezone: string;
  now: Date;
  /** at most about a year (the caller checks): it makes one day of the chart a day */
  range?: { from: Date; to: Date };
  revenue: Config['revenue'];
}

/** Per period: the ones with most meetings; the rest are left out of the answer, which stays small. */
export const EVENT_TYPES_LIMIT = 50;

export type MeetingValueSource = 'payment' | 'event_type' | 'per_booking';

/** What one meeting is worth: the rule of the counters' SQL (VALUE_AMOUNT, VALUE_CURRENCY), for one meeting read. */
export function meetingValue(
  meeting: Pick<Meeting, 'eventTypeUri' | 'paymentAmount' | 'paymentCurrency' | 'paymentSuccessful'>,
  revenue: Config['revenue'],
): Money & { source: MeetingValueSource } {
  if (meeting.paymentSuccessful && meeting.paymentAmount !== null && meeting.paymentCurrency !== null) {
    return { currency: meeting.paymentCurrency, amount: Number(meeting.paymentAmount), source: 'payment' };
  }
  const rate = revenue.byEventType.find((entry) => entry.eventTypeUri === meeting.eventTypeUri);
  return rate
    ? { currency: revenue.currency, amount: rate.amount, source: 'event_type' }
    : { currency: revenue.currency, amount: revenue.perBooking, source: 'per_booking' };
}

/** One period's counts. */
const figuresRow = rowShape({
  period: oneOf(['today', 'last7Days', 'last30Days', 'range']),
  fromAt: timestamp,
  toAt: timestamp,
  booked: integer,
  canceled: integer,
  rescheduled: integer,
  noShow: integer,
  held: integer,
  ended: integer,
});

/** One period's worth in one currency, of all event types (`allTypes`) or of one; amounts are numerics, as text. */
const moneyRow = rowShape({
  period: oneOf(['today', 'last7Days', 'last30Days', 'range']),
  allTypes: boolean,
  eventTypeUri: nullable(text),
  name: nullable(text),
  currency: text,
  booked: integer,
  held: integer,
  bookedRevenue: text,
  heldRevenue: text,
});

/** One day's counts (`allCurrencies`), or its booked revenue in one currency (null: the day has nothing). */
const dayRow = rowShape({
  day: text,
  fromAt: timestamp,
  toAt: timestamp,
  allCurrencies: boolean,
  currency: nullable(text),
  booked: integer,
  canceled: integer,
  noShow: integer,
  bookedRevenue: text,
});

/** Started in the period and over by now; a rescheduled meeting is left out: its replacement counts instead. */
const ENDED = `c.over and c.start_time >= p.from_at and c.start_time < p.to_at and c.status <> 'rescheduled'`;
const HELD = `${ENDED} and c.status = 'active' and c.no_show_at is null`;
const BOOKED = `c.booked_at >= p.from_at and c.booked_at < p.to_at`;
/** Booked in the period and still booked: a canceled one no longer counts, a moved one counts as its replacement. */
const STILL_BOOKED = `${BOOKED} and c.status = 'active'`;

/**
 * `candidates`: the meetings (`c`) with something in the `widest` period, with what each is worth (see meetingValue).
 * Needs the CTEs `clock (now_at)` and `widest (from_at, to_at)` before it; its parameters are `candidateParams`'.
 */
function candidatesSql(organization: string | undefined): string {
  return `rates as (select key as event_type_uri, value::numeric as amount from jsonb_each_text(?::jsonb)),
     -- Only meetings with something in the widest period are read; each of the three times has an index.
     candidates as (
       select m.booked_at, m.canceled_at, m.status, m.start_time, m.no_show_at, m.end_time <= clock.now_at as over,
              m.event_type_uri, m.name,
              case when m.payment_successful then m.payment_amount else coalesce(r.amount, ?::numeric) end as value_amount,
              case when m.payment_successful then m.payment_currency else ?::text end as value_currency
       from meetings m cross join widest w cross join clock left join rates r on r.event_type_uri = m.event_type_uri
       where ${organization === undefined ? '' : 'm.organization = ? and'}
         ((m.booked_at >= w.from_at and m.booked_at < w.to_at)
          or (m.canceled_at >= w.from_at and m.canceled_at < w.to_at)
          or (m.start_time >= w.from_at and m.start_time < w.to_at)))`;
}

function candidateParams(organization: string | undefined, revenue: Config['revenue']): unknown[] {
  return [
    JSON.stringify(Object.fromEntries(revenue.byEventType.map((rate) => [rate.eventTypeUri, rate.amount]))),
    revenue.perBooking,
    revenue.currency,
    ...(organization === undefined ? [] : [organization]),
  ];
}

export async function businessCounters(em: EntityManager, query: BusinessCountersQuery): Promise<BusinessCounters> {
  const { organization, timezone, now, range, revenue } = query;
  const head = `with clock as (select ?::timestamptz as now_at, ?::text as tz),
     midnight as (select date_trunc('day', now_at at time zone tz) as local_day, tz from clock),
     periods as (
       select 'today' as period, local_day at time zone tz as from_at, (local_day + interval '1 day') at time zone tz as to_at from midnight
       union all select 'last7Days', (local_day - interval '6 days') at time zone tz, (local_day + interval '1 day') at time zone tz from midnight
       union all select 'last30Days', (local_day - interval '29 days') at time zone tz, (local_day + interval '1 day') at time zone tz from midnight
       union all select 'range', ?::timestamptz, ?::timestamptz where ?::timestamptz is not null),
     widest as (select min(from_at) as from_at, max(to_at) as to_at from periods),
     ${candidatesSql(organization)}`;
  const params = [now, timezone, range?.from ?? null, range?.to ?? null, range?.from ?? null, ...candidateParams(organization, revenue)];

  const counts = await queryRows(
    em,
    figuresRow,
    `${head}
     select p.period, p.from_at, p.to_at,
       count(*) filter (where ${BOOKED})::int as booked,
       count(*) filter (where c.status = 'canceled' and c.canceled_at >= p.from_at and c.canceled_at < p.to_at)::int as canceled,
       count(*) filter (where c.status = 'rescheduled' and c.canceled_at >= p.from_at and c.canceled_at < p.to_at)::int as rescheduled,
       count(*) filter (where c.no_show_at is not null and c.start_time >= p.from_at and c.start_time < p.to_at)::int as no_show,
       count(*) filter (where ${HELD})::int as held,
       count(*) filter (where ${ENDED})::int as ended
     from periods p left join candidates c on true
     group by p.period, p.from_at, p.to_at`,
    params,
  );
  // Each period's worth per currency, of all its event types and of each: the meetings booked or held in it.
  const money = await queryRows(
    em,
    moneyRow,
    `${head}
     select p.period, grouping(c.event_type_uri) = 1 as all_types, c.event_type_uri, c.value_currency as currency,
       (array_agg(c.name order by c.start_time desc))[1] as name,
       count(*) filter (where ${BOOKED})::int as booked,
       count(*) filter (where ${HELD})::int as held,
       coalesce(sum(c.value_amount) filter (where ${STILL_BOOKED}), 0)::text as booked_revenue,
       coalesce(sum(c.value_amount) filter (where ${HELD}), 0)::text as held_revenue
     from periods p join candidates c on (${BOOKED}) or (${HELD})
     group by grouping sets ((p.period, c.value_currency), (p.period, c.event_type_uri, c.value_currency))`,
    params,
  );

  // The booking rate of the same periods, from the routing form submissions (src/database/routing-form-submissions.ts).
  const forms = await formFiguresOf(em, organization, counts.map((row) => ({ from: row.fromAt, to: row.toAt })));
  const figures = new Map(
    counts.map((row, index) => [row.period, { ...figuresOf(row, money.filter((entry) => entry.period === row.period)), ...forms[index] }]),
  );
  const last30Days = figures.get('last30Days')!;
  const chartPeriod = range ?? { from: last30Days.from, to: last30Days.to };
  return {
    timezone,
    today: figures.get('today')!,
    last7Days: figures.get('last7Days')!,
    last30Days,
    range: figures.get('range') ?? null,
    daily: { ...chartPeriod, days: await bookingDays(em, { organization, timezone, now, revenue }, chartPeriod) },
  };
}

/**
 * The period day by day: bookings, cancellations and no-shows counted as in the periods, and the booked revenue of
 * the day's bookings still booked. Each meeting is put on the local day of each of its times (linear in the meetings).
 */
async function bookingDays(
  em: EntityManager,
  { organization, timezone, now, revenue }: Omit<BusinessCountersQuery, 'range'>,
  period: { from: Date; to: Date },
): Promise<BookingDay[]> {
  const rows = await queryRows(
    em,
    dayRow,
    `with clock as (select ?::timestamptz as now_at, ?::text as tz),
     widest as (select ?::timestamptz as from_at, ?::timestamptz as to_at),
     days as (
       select d::date as day, greatest(d at time zone clock.tz, w.from_at) as from_at, least((d + interval '1 day') at time zone clock.tz, w.to_at) as to_at
       from clock cross join widest w
         cross join generate_series(date_trunc('day', w.from_at at time zone clock.tz), w.to_at at time zone clock.tz - interval '1 microsecond', interval '1 day') d),
     ${candidatesSql(organization)},
     facts as (
       select (c.booked_at at time zone clock.tz)::date as day, 'booked' as kind, c.status, c.value_amount, c.value_currency
       from candidates c cross join clock cross join widest w where c.booked_at >= w.from_at and c.booked_at < w.to_at
       union all
       select (c.canceled_at at time zone clock.tz)::date, 'canceled', c.status, c.value_amount, c.value_currency
       from candidates c cross join clock cross join widest w where c.status = 'canceled' and c.canceled_at >= w.from_at and c.canceled_at < w.to_at
       union all
       select (c.start_time at time zone clock.tz)::date, 'no_show', c.status, c.value_amount, c.value_currency
       from candidates c cross join clock cross join widest w where c.no_show_at is not null and c.start_time >= w.from_at and c.start_time < w.to_at)
     select d.day::text as day, d.from_at, d.to_at, grouping(f.value_currency) = 1 as all_currencies, f.value_currency as currency,
       count(f.kind) filter (where f.kind = 'booked')::int as booked,
       count(f.kind) filter (where f.kind = 'canceled')::int as canceled,
       count(f.kind) filter (where f.kind = 'no_show')::int as no_show,
       coalesce(sum(f.value_amount) filter (where f.kind = 'booked' and f.status = 'active'), 0)::text as booked_revenue
     from days d left join facts f on f.day = d.day
     group by grouping sets ((d.day, d.from_at, d.to_at), (d.day, d.from_at, d.to_at, f.value_currency))
     order by d.day`,
    [now, timezone, period.from, period.to, ...candidateParams(organization, revenue)],
  );
  return rows
    .filter((row) => row.allCurrencies)
    .map((row) => ({
      day: row.day,
      from: row.fromAt,
      to: row.toAt,
      booked: row.booked,
      canceled: row.canceled,
      noShow: row.noShow,
      bookedRevenue: moneyOf(rows.filter((entry) => entry.day === row.day && !entry.allCurrencies), (entry) => entry.bookedRevenue),
    }));
}

function figuresOf(row: ReturnType<typeof figuresRow.read>, money: ReturnType<typeof moneyRow.read>[]): Omit<BusinessFigures, keyof FormFigures> {
  const ofAllTypes = money.filter((entry) => entry.allTypes);
  const byEventType = new Map<string, ReturnType<typeof moneyRow.read>[]>();
  for (const entry of money) {
    if (entry.allTypes || entry.eventTypeUri === null) continue;
    byEventType.set(entry.eventTypeUri, [...(byEventType.get(entry.eventTypeUri) ?? []), entry]);
  }
  const eventTypes = [...byEventType].map(([eventTypeUri, entries]): EventTypeFigures => ({
    eventTypeUri,
    // The currencies' rows of one event type each name its latest meeting of the period in that currency.
    name: entries.find((entry) => entry.name !== null)?.name ?? null,
    booked: entries.reduce((sum, entry) => sum + entry.booked, 0),
    held: entries.reduce((sum, entry) => sum + entry.held, 0),
    bookedRevenue: moneyOf(entries, (entry) => entry.bookedRevenue),
    heldRevenue: moneyOf(entries, (entry) => entry.heldRevenue),
  }));
  return {
    from: row.fromAt,
    to: row.toAt,
    booked: row.booked,
    canceled: row.canceled,
    rescheduled: row.rescheduled,
    noShow: row.noShow,
    held: row.held,
    heldRate: row.ended === 0 ? null : row.held / row.ended,
    bookedRevenue: moneyOf(ofAllTypes, (entry) => entry.bookedRevenue),
    heldRevenue: moneyOf(ofAllTypes, (entry) => entry.heldRevenue),
    byEventType: eventTypes
      .sort((a, b) => b.booked + b.held - (a.booked + a.held) || a.eventTypeUri.localeCompare(b.eventTypeUri))
      .slice(0, EVENT_TYPES_LIMIT),
  };
}

/** The amounts of one currency per entry (a numeric as text) as Money, by currency, leaving out those of zero. */
function moneyOf<Entry extends { currency: string | null }>(entries: Entry[], amountOf: (entry: Entry) => string): Money[] {
  return entries
    .filter((entry) => entry.currency !== null)
    .map((entry) => ({ currency: entry.currency!, amount: Number(amountOf(entry)) }))
    .filter((money) => money.amount !== 0)
    .sort((a, b) => a.currency.localeCompare(b.currency));
}
