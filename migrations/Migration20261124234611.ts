import { Migration } from '@mikro-orm/migrations';

export class Migration20261124234611 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "leads" ("id" uuid not null default gen_random_uuid(), "email_key" text not null, "email" text not null, "name" text not null, "first_name" text null, "last_name" text null, "timezone" text null, "phone" text null, "first_seen_at" timestamptz not null, "last_seen_at" timestamptz not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "leads_pkey" primary key ("id"));`);
    this.addSql(`alter table "leads" add constraint "leads_email_key_unique" unique ("email_key");`);

    this.addSql(`create table "meetings" ("id" uuid not null default gen_random_uuid(), "invitee_uri" text not null, "scheduled_event_uri" text not null, "event_type_uri" text not null, "name" text null, "start_time" timestamptz not null, "end_time" timestamptz not null, "location" jsonb not null, "status" text not null, "host_name" text null, "host_email" text null, "host_uri" text null, "answers" jsonb not null, "tracking" jsonb not null, "cancel_url" text not null, "reschedule_url" text not null, "canceled_at" timestamptz null, "canceled_by" text null, "canceler_type" text null, "cancel_reason" text null, "rescheduled" boolean not null default false, "old_invitee_uri" text null, "new_invitee_uri" text null, "booked_at" timestamptz not null, "calendly_updated_at" timestamptz not null, "lead_id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "meetings_pkey" primary key ("id"));`);
    this.addSql(`alter table "meetings" add constraint "meetings_invitee_uri_unique" unique ("invitee_uri");`);
    this.addSql(`create index "meetings_scheduled_event_uri_index" on "meetings" ("scheduled_event_uri");`);
    this.addSql(`create index "meetings_lead_id_index" on "meetings" ("lead_id");`);
    this.addSql(`create index "meetings_start_time_index" on "meetings" ("start_time");`);
    this.addSql(`create index "meetings_status_start_time_index" on "meetings" ("status", "start_time");`);

    this.addSql(`create table "webhook_deliveries" ("id" uuid not null, "received_at" timestamptz not null, "event_type" text null, "dedup_key" text null, "signature" text not null, "workflow_id" text null, "outcome" text not null, "detail" text null, "raw_body" text null, "updated_at" timestamptz not null default now(), constraint "webhook_deliveries_pkey" primary key ("id"));`);
    this.addSql(`alter table "webhook_deliveries" add constraint "webhook_deliveries_dedup_key_unique" unique ("dedup_key");`);
    this.addSql(`create index "webhook_deliveries_received_at_index" on "webhook_deliveries" ("received_at");`);
    this.addSql(`create index "webhook_deliveries_outcome_index" on "webhook_deliveries" ("outcome");`);

    this.addSql(`alter table "meetings" add constraint "meetings_lead_id_foreign" foreign key ("lead_id") references "leads" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "meetings" drop constraint "meetings_lead_id_foreign";`);

    // No cascade: anything still depending on these tables (a later migration not reverted) fails the migration.
    this.addSql(`drop table if exists "webhook_deliveries";`);

    this.addSql(`drop table if exists "meetings";`);

    this.addSql(`drop table if exists "leads";`);
  }

}
