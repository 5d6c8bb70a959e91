/**
 * src/database/leads.ts, listLeads at scale: one page of an organization with thousands of leads is filtered,
 * ordered and limited in PostgreSQL. Timing is not asserted (it depends on the machine); what is asserted is the
 * cause of the slowness the hardening issue measured: how many rows PostgreSQL sends to the application for one page.
 * Every query MikroORM runs is logged with the number of rows it returned (its `results`); a page of `limit` leads
 * may bring `limit` lead rows and one count row, never a row per lead of the organization.
 */
import { randomUUID } from 'node:crypto';
import { DefaultLogger, type LogContext, type LoggerNamespace } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { listLeads } from '../../src/database/leads';
import { ormConfig } from '../../src/database/orm-config';
import { harness } from '../support/harness';
import { newOrganization } from './database';

const LEADS = 3000;

/** Records every query and the number of rows it returned, and prints nothing. */
class RowCounter extends DefaultLogger {
  readonly queries: { sql: string; rows: number }[] = [];
  override logQuery(context: { query: string } & LogContext): void {
    this.queries.push({ sql: context.query, rows: context.results ?? 0 });
  }
  override log(): void {}
  override isEnabled(namespace: LoggerNamespace): boolean {
    return namespace === 'query';
  }
}

let orm: MikroORM;
let counter: RowCounter;
const organization = newOrganization();
const prefix = `page-${randomUUID()}`;

beforeAll(async () => {
  orm = await MikroORM.init(
    ormConfig(harness().databaseUrl, {
      debug: ['query'],
      loggerFactory: (options) => (counter = new RowCounter(options)),
    }),
  );
  // Thousands of leads of one organization, one meeting each, inserted set-wise; seen long ago, so that they sort
  // after the leads other test files list, and removed afterwards.
  await orm.em.fork().execute(
    `with new_leads as (
       insert into leads (organization, email_key, email, name, first_seen_at, last_seen_at)
       select ?, '${prefix}-' || n || '@example.com', '${prefix}-' || n || '@example.com', 'Lead ' || n,
              timestamptz '2001-01-01' + n * interval '1 minute', timestamptz '2001-01-01' + (n % 500) * interval '1 hour'
       from generate_series(1, ${LEADS}) as n
       returning id, email)
     insert into meetings (invitee_uri, scheduled_event_uri, event_type_uri, start_time, end_time, location, status, answers,
                           tracking, cancel_url, reschedule_url, booked_at, calendly_updated_at, lead_id, organization)
     select 'https://api.calendly.com/scheduled_events/${prefix}/invitees/' || email, 'https://api.calendly.com/scheduled_events/${prefix}',
            'https://api.calendly.com/event_types/PAGE', timestamptz '2001-02-01', timestamptz '2001-02-01 00:30', '{}', 'active', '[]',
            '{}', 'https://calendly.com/c', 'https://calendly.com/r', timestamptz '2001-01-01', timestamptz '2001-01-01', id, ?
     from new_leads`,
    [organization, organization],
  );
});
afterAll(async () => {
  const em = orm.em.fork();
  await em.execute(`delete from meetings where scheduled_event_uri = ?`, [`https://api.calendly.com/scheduled_events/${prefix}`]);
  await em.execute(`delete from leads where email_key like ?`, [`${prefix}-%`]);
  await orm.close();
});

/** The rows PostgreSQL sent for what `work` ran. */
async function rowsReceived<T>(work: () => Promise<T>): Promise<{ result: T; rows: number; queries: number }> {
  counter.queries.length = 0;
  const result = await work();
  return { result, rows: counter.queries.reduce((sum, { rows }) => sum + rows, 0), queries: counter.queries.length };
}

it('receives one page of leads and a count from PostgreSQL, not every lead id of the organization', async () => {
  const { result, rows, queries } = await rowsReceived(() => listLeads(orm.em.fork(), { organization, limit: 50, offset: 100 }));
  const [leads, total] = result;
  expect(total).toBe(LEADS);
  expect(leads).toHaveLength(50);
  expect(rows).toBeLessThanOrEqual(50 + 1);
  expect(queries).toBeLessThanOrEqual(2);
});

it('returns the same page as ordering every lead of the organization by last seen (newest first), then id', async () => {
  const expected = await orm.em
    .fork()
    .execute<{ id: string }[]>(
      `select id from leads where email_key like ? order by last_seen_at desc, id asc limit 50 offset 2950`,
      [`${prefix}-%`],
    );
  const [leads, total] = await listLeads(orm.em.fork(), { organization, limit: 100, offset: 2950 });
  expect(total).toBe(LEADS);
  expect(leads.map((lead) => lead.id)).toEqual(expected.map(({ id }) => id));

  const email = `${prefix}-7@example.com`;
  const { result, rows } = await rowsReceived(() => listLeads(orm.em.fork(), { organization, email: email.toUpperCase(), limit: 50, offset: 0 }));
  expect(result[1]).toBe(1);
  expect(result[0].map((lead) => lead.email)).toEqual([email]);
  expect(rows).toBe(2);
});
