import { join } from 'node:path';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { LeadSchema } from './entities/lead';
import { MeetingSchema } from './entities/meeting';
import { OutboxEventSchema } from './entities/outbox-event';
import { ReminderSchema } from './entities/reminder';
import { WebhookDeliverySchema } from './entities/webhook-delivery';

const ENTITIES = [LeadSchema, MeetingSchema, WebhookDeliverySchema, OutboxEventSchema, ReminderSchema];

/** Holds in both layouts: src/database -> migrations, dist/src/database -> dist/migrations. */
const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

export function ormConfig(databaseUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    migrations: { path: MIGRATIONS_DIR, pathTs: MIGRATIONS_DIR, glob: '!(*.d).{js,ts}', transactional: true, snapshot: false, emit: 'ts' },
    // Activities fork their own entity manager; the global one must never be used by accident.
    allowGlobalContext: false,
    pool: { min: 0, max: 10 },
    ...overrides,
  });
}
