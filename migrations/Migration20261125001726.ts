import { Migration } from '@mikro-orm/migrations';

export class Migration20261125001726 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "outbox_events" ("id" bigserial primary key, "type" text not null, "organization" text null, "payload" jsonb not null, "created_at" timestamptz not null default now());`);
    this.addSql(`create index "outbox_events_organization_id_index" on "outbox_events" ("organization", "id");`);

    this.addSql(`create table "reminders" ("id" uuid not null default gen_random_uuid(), "meeting_id" uuid not null, "offset_seconds" int not null, "fire_at" timestamptz not null, "state" text not null, "sent_at" timestamptz null, "canceled_at" timestamptz null, "skipped_at" timestamptz null, "outbound_delivered_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "reminders_pkey" primary key ("id"));`);
    this.addSql(`create index "reminders_state_fire_at_index" on "reminders" ("state", "fire_at");`);
    this.addSql(`alter table "reminders" add constraint "reminders_meeting_offset_unique" unique ("meeting_id", "offset_seconds");`);

    this.addSql(`alter table "reminders" add constraint "reminders_meeting_id_foreign" foreign key ("meeting_id") references "meetings" ("id") on update cascade;`);

    this.addSql(`alter table "meetings" add column "no_show_at" timestamptz null, add column "no_show_changed_at" timestamptz null, add column "organization" text null;`);
    this.addSql(`create index "meetings_organization_index" on "meetings" ("organization");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "outbox_events" cascade;`);

    this.addSql(`drop table if exists "reminders" cascade;`);

    this.addSql(`drop index "meetings_organization_index";`);
    this.addSql(`alter table "meetings" drop column "no_show_at", drop column "no_show_changed_at", drop column "organization";`);
  }

}
