/**
 * The business view of the meetings: per period, how many were booked, canceled, rescheduled and missed (no-show),
 * how many of those that took place were held, and the revenue of the held ones. Each count is taken by the time of
 * what it counts: a booking by when it was made, a cancellation or a reschedule by when it happened, a no-show and a
 * held meeting by the meeting's start. Days start at midnight in the given time zone (IANA name, checked by the
 * caller), so "today" and the last 7 and 30 days follow its daylight-saving changes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { formFiguresOf, type FormFigures } from './routing-form-submissions';
import { integer, oneOf, queryRows, rowShape, text, timestamp } from './rows';

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
  revenue: number;
}

export interface BusinessCounters {
  timezone: string;
  today: BusinessFigures;
  last7Days: BusinessFigures;
  last30Days: BusinessFigures;
  /** the chosen from/to period; null when none was asked for */
  range: BusinessFigures | null;
}

export interface BusinessCountersQuery {
  /** only this organization's meetings; all organizations when undefined */
  organization: string | undefined;
  timezone: string;
  now: Date;
  range?: { from: Date; to: Date };
  revenue: Config['revenue'];
}

/** One period's counts; `revenue` is a numeric, as text. */
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
  revenue: text,
});

/** Started in the period and over by now; a rescheduled meeting is left out: its replacement counts instead. */
const ENDED = `c.over and c.start_time >= p.from_at and c.start_time < p.to_at and c.status <> 'rescheduled'`;
const HELD = `${ENDED} and c.status = 'active' and c.no_show_at is null`;

export async function businessCounters(em: EntityManager, query: BusinessCountersQuery): Promise<BusinessCounters> {
  const { organization, timezone, now, range, revenue } = query;
  const rows = await queryRows(
    em,
    figuresRow,
    `with clock as (select ?::timestamptz as now_at, ?::text as tz),
     midnight as (select date_trunc('day', now_at at time zone tz) as local_day, tz from clock),
     periods as (
       select 'today' as period, local_day at time zone tz as from_at, (local_day + interval '1 day') at time zone tz as to_at from midnight
       union all select 'last7Days', (local_day - interval '6 days') at time zone tz, (local_day + interval '1 day') at time zone tz from midnight
       union all select 'last30Days', (local_day - interval '29 days') at time zone tz, (local_day + interval '1 day') at time zone tz from midnight
       union all select 'range', ?::timestamptz, ?::timestamptz where ?::timestamptz is not null),
     widest as (select min(from_at) as from_at, max(to_at) as to_at from periods),
     rates as (select key as event_type_uri, value::numeric as amount from jsonb_each_text(?::jsonb)),
     -- Only meetings with something in the widest period are read; each of the three times has an index.
     candidates as (
       select m.booked_at, m.canceled_at, m.status, m.start_time, m.no_show_at, m.end_time <= clock.now_at as over,
              coalesce(r.amount, ?::numeric) as value
       from meetings m cross join widest w cross join clock left join rates r on r.event_type_uri = m.event_type_uri
       where ${organization === undefined ? '' : 'm.organization = ? and'}
         ((m.booked_at >= w.from_at and m.booked_at < w.to_at)
          or (m.canceled_at >= w.from_at and m.canceled_at < w.to_at)
          or (m.start_time >= w.from_at and m.start_time < w.to_at)))
     select p.period, p.from_at, p.to_at,
       count(*) filter (where c.booked_at >= p.from_at and c.booked_at < p.to_at)::int as booked,
       count(*) filter (where c.status = 'canceled' and c.canceled_at >= p.from_at and c.canceled_at < p.to_at)::int as canceled,
       count(*) filter (where c.status = 'rescheduled' and c.canceled_at >= p.from_at and c.canceled_at < p.to_at)::int as rescheduled,
       count(*) filter (where c.no_show_at is not null and c.start_time >= p.from_at and c.start_time < p.to_at)::int as no_show,
       count(*) filter (where ${HELD})::int as held,
       count(*) filter (where ${ENDED})::int as ended,
       coalesce(sum(c.value) filter (where ${HELD}), 0)::text as revenue
     from periods p left join candidates c on true
     group by p.period, p.from_at, p.to_at`,
    [
      now,
      timezone,
      range?.from ?? null,
      range?.to ?? null,
      range?.from ?? null,
      JSON.stringify(Object.fromEntries(revenue.byEventType.map((rate) => [rate.eventTypeUri, rate.amount]))),
      revenue.perBooking,
      ...(organization === undefined ? [] : [organization]),
    ],
  );
  // The booking rate of the same periods, from the routing form submissions (src/database/routing-form-submissions.ts).
  const forms = await formFiguresOf(em, organization, rows.map((row) => ({ from: row.fromAt, to: row.toAt })));
  const figures = new Map(rows.map((row, index) => [row.period, { ...figuresOf(row), ...forms[index] }]));
  return {
    timezone,
    today: figures.get('today')!,
    last7Days: figures.get('last7Days')!,
    last30Days: figures.get('last30Days')!,
    range: figures.get('range') ?? null,
  };
}

function figuresOf(row: ReturnType<typeof figuresRow.read>): Omit<BusinessFigures, keyof FormFigures> {
  return {
    from: row.fromAt,
    to: row.toAt,
    booked: row.booked,
    canceled: row.canceled,
    rescheduled: row.rescheduled,
    noShow: row.noShow,
    held: row.held,
    heldRate: row.ended === 0 ? null : row.held / row.ended,
    revenue: Number(row.revenue),
  };
}
