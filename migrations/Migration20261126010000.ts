import { Migration } from '@mikro-orm/migrations';

export class Migration20261126010000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "outbound_endpoints" ("id" uuid not null default gen_random_uuid(), "organization" text not null, "url" text not null, "secret" text not null, "event_types" text[] not null, "enabled" boolean not null default true, "created_at" timestamptz not null default now(), "disabled_at" timestamptz null, constraint "outbound_endpoints_pkey" primary key ("id"));`);
    this.addSql(`create index "outbound_endpoints_organization_index" on "outbound_endpoints" ("organization") where "enabled";`);

    this.addSql(`create table "outbound_deliveries" ("id" uuid not null default gen_random_uuid(), "endpoint_id" uuid not null, "outbox_event_id" bigint not null, "event_type" text not null, "organization" text not null, "state" text not null default 'pending', "attempts" int not null default 0, "last_status" int null, "last_error" text null, "created_at" timestamptz not null default now(), "dispatched_at" timestamptz null, "delivered_at" timestamptz null, "dead_at" timestamptz null, constraint "outbound_deliveries_pkey" primary key ("id"), constraint "outbound_deliveries_state_check" check ("state" in ('pending', 'delivered', 'dead')));`);
    this.addSql(`alter table "outbound_deliveries" add constraint "outbound_deliveries_endpoint_id_outbox_event_id_unique" unique ("endpoint_id", "outbox_event_id");`);
    this.addSql(`alter table "outbound_deliveries" add constraint "outbound_deliveries_endpoint_id_foreign" foreign key ("endpoint_id") references "outbound_endpoints" ("id") on delete cascade;`);
    // A delivery lives as long as its event: the outbox retention takes both (docs/outbound-webhooks.md).
    this.addSql(`alter table "outbound_deliveries" add constraint "outbound_deliveries_outbox_event_id_foreign" foreign key ("outbox_event_id") references "outbox_events" ("id") on delete cascade;`);
    this.addSql(`create index "outbound_deliveries_undispatched_index" on "outbound_deliveries" ("created_at") where "state" = 'pending' and "dispatched_at" is null;`);
    this.addSql(`create index "outbound_deliveries_organization_state_index" on "outbound_deliveries" ("organization", "state", "created_at");`);
    this.addSql(`create index "outbound_deliveries_outbox_event_id_index" on "outbound_deliveries" ("outbox_event_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "outbound_deliveries" cascade;`);
    this.addSql(`drop table if exists "outbound_endpoints" cascade;`);
  }

}
