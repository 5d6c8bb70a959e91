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
  expect(migrated.tables).toEqual(['leads', 'meetings', 'outbox_events', 'refused_requests', 'reminders', 'webhook_deliveries']);

  expect((await migrator.down({ to: 0 })).map(({ name }) => name)).toEqual([...all].reverse());
  expect(await migrator.getExecutedMigrations()).toEqual([]);
  expect(await schema()).toEqual({ tables: [], columns: [], constraints: [], indexes: [], sequences: [] });

  expect((await migrator.up()).map(({ name }) => name)).toEqual(all);
  expect(await schema()).toEqual(migrated);
});
