/** Applies pending database migrations (creating the database first if needed). Run by the start command. */
import { databaseConfigFromEnvironment } from '../src/config';
import { migrateDatabase } from '../src/database/migrate';
import { runCli } from './lib/cli';

const USAGE = `Usage: npm run migrate

Applies the pending database migrations to DATABASE_URL, creating the database first if it does not exist.
Running it again changes nothing.

  --help  show this help

Exit code: 0 done (or nothing to apply), 1 failed, 2 wrong usage, 78 configuration error.`;

runCli('migrate', USAGE, {}, async () => {
  const { databaseUrl } = databaseConfigFromEnvironment();
  const where = new URL(databaseUrl);
  const applied = await migrateDatabase(databaseUrl);
  process.stdout.write(
    applied.length
      ? `Applied ${applied.length} migration(s) to ${where.host}${where.pathname}: ${applied.join(', ')}\n`
      : `Database ${where.host}${where.pathname} is up to date\n`,
  );
  return 0;
});
