import { Migration } from '@mikro-orm/migrations';

/**
 * One row per started OAuth connect flow (src/connections/oauth-connect.ts): its sealed `state` names the row, which
 * makes the state single-use across every receiver process, and holds the grant while a replacement of the
 * connection's Calendly organization waits for the organization's confirmation. A connection moved to another
 * Calendly organization keeps its former signing key: the old subscription, if it could not be deleted, still signs
 * with it, and is answered 410 Gone (which makes Calendly delete it).
 */
export class Migration20261206230000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "calendly_connect_flows" (
      "id" uuid not null primary key,
      "organization" text not null,
      "expires_at" timestamptz not null,
      "created_at" timestamptz not null default now(),
      "code_exchanged_at" timestamptz null,
      "awaiting_confirmation" text null,
      "completed_at" timestamptz null
    );`);
    this.addSql(`create index "calendly_connect_flows_expires_at_index" on "calendly_connect_flows" ("expires_at");`);
    this.addSql(`alter table "calendly_connections" add column "retired_signing_key" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "calendly_connections" drop column "retired_signing_key";`);
    this.addSql(`drop table "calendly_connect_flows";`);
  }

}
