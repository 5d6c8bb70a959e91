import { Migration } from '@mikro-orm/migrations';

/**
 * Single-use websocket tickets (src/database/websocket-tickets.ts): a browser opens /ws?ticket=… instead of putting
 * its long-lived API token in the URL. In PostgreSQL, so that any receiver behind a load balancer can redeem one.
 */
export class Migration20261206223000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "websocket_tickets" ("ticket_hash" bytea not null, "organization" text null, "token_key" text not null, "issued_token_id" uuid null, "expires_at" timestamptz not null, constraint "websocket_tickets_pkey" primary key ("ticket_hash"));`);
    this.addSql(`alter table "websocket_tickets" add constraint "websocket_tickets_issued_token_id_foreign" foreign key ("issued_token_id") references "api_tokens" ("id") on delete cascade;`);
    this.addSql(`create index "websocket_tickets_expires_at_index" on "websocket_tickets" ("expires_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "websocket_tickets" cascade;`);
  }

}
