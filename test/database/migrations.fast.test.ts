/**
 * The migrations on a scratch database of the test PostgreSQL: up, all the way down, and up again, so that every
 * `down()` exactly reverses its `up()` and a rollback leaves a database the migrations can rebuild.
 */
import { randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { createDatabaseIfMissing, dropDatabase } from '../../src/database/migrate';
import { ormConfig } from '../../src/database/orm-config';
import { TEST_POSTGRES_URL } from '../support/harness';

const databaseUrl = `${TEST_POSTGRES_URL}/calendly_bookings_migrations_${randomBytes(4).toString('hex')}`;
let orm: MikroORM;

beforeAll(async () => {
  await createDatabaseIfMissing(databaseUrl);
  const config = ormConfig(databaseUrl);
  orm = await MikroORM.init({ ...config, migrations: { ...config.migrations, silent: true } });
});
afterAll(async () => {
  await orm?.close();
  await dropDatabase(databaseUrl);
});

async function query<T>(sql: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The tables, columns, constraints and indexes of the public schema, minus the migrator's own bookkeeping. */
async function schema() {
  const tables = await query<{ name: string }>(
    `select table_name as name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1`,
  );
  const columns = await query(
    `select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns
     where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by table_name, column_name`,
  );
  const constraints = await query(
    `select conrelid::regclass::text as table_name, conname, pg_get_constraintdef(oid) as definition from pg_constraint
     where connamespace = 'public'::regnamespace and conrelid::regclass::text <> 'mikro_orm_migrations' order by 1, 2`,
  );
  const indexes = await query(
    `select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by 1, 2`,
  );
  const sequences = await query(`select sequence_name from information_schema.sequences where sequence_schema = 'public' and sequence_name <> 'mikro_orm_migrations_id_seq' order by 1`);
  return { tables: tables.map(({ name }) => name), columns, constraints, indexes, sequences };
}

it('migrates up, down to nothing, and up again to the same schema', async () => {
  const migrator = orm.getMigrator();
  const all = (await migrator.getPendingMigrations()).map(({ name }) => name);
  expect(all.length).toBeGreaterThan(0);

  expect((await migrator.up()).map(({ name }) => name)).toEqual(all);
  const migrated = await schema();
  expect(migrated.tables).toEqual([
    'api_tokens',
    'calendly_connect_flows',
    'calendly_connections',
    'leads',
    'meetings',
    'outbound_deliveries',
    'outbound_endpoints',
    'outbox_events',
    'refused_requests',
    'reminders',
    'routing_form_submissions',
    'webhook_deliveries',
    'websocket_tickets',
  ]);

  expect((await migrator.down({ to: 0 })).map(({ name }) => name)).toEqual([...all].reverse());
  expect(await migrator.getExecutedMigrations()).toEqual([]);
  expect(await schema()).toEqual({ tables: [], columns: [], constraints: [], indexes: [], sequences: [] });

  expect((await migrator.up()).map(({ name }) => name)).toEqual(all);
  expect(await schema()).toEqual(migrated);
});

it('splits a lead who booked with two organizations into one lead per organization, each keeping its meetings', async () => {
  const migrator = orm.getMigrator();
  await migrator.down({ to: 0 });
  await migrator.up({ to: 'Migration20261125220000' });
  const [{ id: leadId }] = await query<{ id: string }>(
    `insert into leads (email_key, email, name, phone, first_seen_at, last_seen_at)
     values ('sam@example.com', 'Sam@example.com', 'Sam', '+15550100', '2030-01-01', '2030-02-01') returning id`,
  );
  const meeting = (n: number, organization: string) =>
    query(
      `insert into meetings (invitee_uri, scheduled_event_uri, event_type_uri, start_time, end_time, location, status, answers, tracking,
         cancel_url, reschedule_url, booked_at, calendly_updated_at, lead_id, organization, created_at)
       values ('https://api.calendly.com/scheduled_events/E${n}/invitees/I${n}', 'https://api.calendly.com/scheduled_events/E${n}',
         'https://api.calendly.com/event_types/T', '2030-03-0${n}', '2030-03-0${n}', '{}', 'active', '[]', '{}', 'c', 'r',
         '2030-01-0${n}', '2030-01-0${n}', '${leadId}', '${organization}', '2030-01-0${n}')`,
    );
  await meeting(1, 'https://api.calendly.com/organizations/FIRST');
  await meeting(2, 'https://api.calendly.com/organizations/SECOND');
  await meeting(3, 'https://api.calendly.com/organizations/FIRST');

  await migrator.up();
  const leads = await query<{ id: string; organization: string; email: string; phone: string; meetings: number }>(
    `select l.id, l.organization, l.email, l.phone, count(m.id)::int as meetings from leads l join meetings m on m.lead_id = l.id
     group by l.id order by l.organization`,
  );
  expect(leads.map(({ organization, email, phone, meetings }) => ({ organization, email, phone, meetings }))).toEqual([
    { organization: 'https://api.calendly.com/organizations/FIRST', email: 'Sam@example.com', phone: '+15550100', meetings: 2 },
    { organization: 'https://api.calendly.com/organizations/SECOND', email: 'Sam@example.com', phone: '+15550100', meetings: 1 },
  ]);
  expect(leads[0].id).toBe(leadId);
});

it('keeps a meeting stored before meetings became per organization: its identity, and the workflow ID it was started with', async () => {
  const migrator = orm.getMigrator();
  // The test before leaves a lead split in two, which the way down refuses to merge.
  await query('delete from meetings; delete from leads');
  await migrator.down({ to: 0 });
  await migrator.up({ to: 'Migration20261126030000' });
  const inviteeUri = 'https://api.calendly.com/scheduled_events/E1/invitees/I1';
  const [{ id: leadId }] = await query<{ id: string }>(
    `insert into leads (organization, email_key, email, name, first_seen_at, last_seen_at)
     values ('https://api.calendly.com/organizations/FIRST', 'kim@example.com', 'kim@example.com', 'Kim', '2030-01-01', '2030-01-01') returning id`,
  );
  const insertMeeting = (organization: string) =>
    query<{ id: string }>(
      `insert into meetings (invitee_uri, scheduled_event_uri, event_type_uri, start_time, end_time, location, status, answers, tracking,
         cancel_url, reschedule_url, booked_at, calendly_updated_at, lead_id, organization)
       values ('${inviteeUri}', 'https://api.calendly.com/scheduled_events/E1', 'https://api.calendly.com/event_types/T', '2030-03-01', '2030-03-01',
         '{}', 'active', '[]', '{}', 'c', 'r', '2030-01-01', '2030-01-01', '${leadId}', '${organization}') returning id`,
    );
  const [{ id: meetingId }] = await insertMeeting('https://api.calendly.com/organizations/FIRST');

  await migrator.up();
  expect(await query(`select id, organization, workflow_id from meetings`)).toEqual([
    { id: meetingId, organization: 'https://api.calendly.com/organizations/FIRST', workflow_id: null },
  ]);
  // Another organization may now hold the same invitee; the same organization still cannot hold it twice.
  await insertMeeting('https://api.calendly.com/organizations/SECOND');
  await expect(insertMeeting('https://api.calendly.com/organizations/FIRST')).rejects.toThrow(/meetings_organization_invitee_uri_unique/);
});
