import { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { ormConfig } from './orm-config';

/** Creates the database if it does not exist yet (a fresh machine), then applies pending migrations. */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  await createDatabaseIfMissing(databaseUrl);
  const orm = await MikroORM.init(ormConfig(databaseUrl));
  try {
    const applied = await orm.getMigrator().up();
    return applied.map((migration) => migration.name);
  } finally {
    await orm.close();
  }
}

export async function createDatabaseIfMissing(databaseUrl: string): Promise<void> {
  await onServerOf(databaseUrl, async (client, database, quoted) => {
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (!rowCount) await client.query(`create database ${quoted}`);
    } catch (error) {
      // Another process may have created it between the check and the create.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  });
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  await onServerOf(databaseUrl, (client, _database, quoted) => client.query(`drop database if exists ${quoted} with (force)`));
}

/** Runs `work` connected to the server's `postgres` database, with the name of the URL's database. */
async function onServerOf(
  databaseUrl: string,
  work: (client: Client, database: string, quotedDatabase: string) => Promise<unknown>,
): Promise<void> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await work(client, database, `"${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}
