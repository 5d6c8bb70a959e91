/** Applies pending database migrations (creating the database first if needed). Run by the start command. */
import { databaseConfigFromEnvironment } from '../src/config';
import { migrateDatabase } from '../src/database/migrate';

async function main(): Promise<void> {
  const { databaseUrl } = databaseConfigFromEnvironment();
  const where = new URL(databaseUrl);
  const applied = await migrateDatabase(databaseUrl);
  process.stdout.write(
    applied.length
      ? `Applied ${applied.length} migration(s) to ${where.host}${where.pathname}: ${applied.join(', ')}\n`
      : `Database ${where.host}${where.pathname} is up to date\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`Migration failed: ${(error as Error).message}\n`);
  process.exit(1);
});
