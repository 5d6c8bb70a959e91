import { Migration } from '@mikro-orm/migrations';

/**
 * Many organizations: Calendly connections (OAuth), and leads of one organization each (the same email booking with
 * two organizations is two leads). A lead whose meetings span several organizations is split into one per
 * organization, each keeping the details it had.
 */
export class Migration20261126000000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "calendly_connections" (
      "id" uuid not null default gen_random_uuid(),
      "organization" text not null,
      "status" text not null,
      "status_reason" text null,
      "status_changed_at" timestamptz not null default now(),
      "calendly_organization" text null,
      "calendly_user" text null,
      "scope" text null,
      "access_token" text null,
      "refresh_token" text null,
      "token_expires_at" timestamptz null,
      "signing_key" text not null,
      "webhook_subscription_uri" text null,
      "webhook_state" text not null default 'none',
      "webhook_detail" text null,
      "last_delivery_at" timestamptz null,
      "last_synced_at" timestamptz null,
      "sync_state" text not null default 'idle',
      "sync_progress" jsonb null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "calendly_connections_pkey" primary key ("id"),
      constraint "calendly_connections_organization_unique" unique ("organization"));`);
    // One of our organizations per Calendly organization: its invitee URIs then name one organization's meetings.
    this.addSql(`create unique index "calendly_connections_calendly_organization_unique" on "calendly_connections" ("calendly_organization") where "status" <> 'disconnected';`);

    this.addSql(`alter table "leads" drop constraint "leads_email_key_unique";`);
    this.addSql(`alter table "leads" add column "organization" text null;`);
    this.addSql(`update "leads" l set "organization" = (select m."organization" from "meetings" m where m."lead_id" = l."id" order by m."created_at", m."id" limit 1);`);
    this.addSql(`create temporary table "lead_split" on commit drop as
      select s."lead_id" as "old_id", s."organization", gen_random_uuid() as "new_id"
      from (select distinct m."lead_id", m."organization" from "meetings" m join "leads" l on l."id" = m."lead_id"
            where m."organization" is distinct from l."organization") s;`);
    this.addSql(`insert into "leads" ("id", "organization", "email_key", "email", "name", "first_name", "last_name", "timezone", "phone", "first_seen_at", "last_seen_at", "created_at", "updated_at")
      select s."new_id", s."organization", l."email_key", l."email", l."name", l."first_name", l."last_name", l."timezone", l."phone", l."first_seen_at", l."last_seen_at", l."created_at", now()
      from "lead_split" s join "leads" l on l."id" = s."old_id";`);
    this.addSql(`update "meetings" m set "lead_id" = s."new_id" from "lead_split" s where m."lead_id" = s."old_id" and m."organization" is not distinct from s."organization";`);
    this.addSql(`alter table "leads" add constraint "leads_organization_email_key_unique" unique nulls not distinct ("organization", "email_key");`);
    this.addSql(`drop index if exists "leads_last_seen_at_id_index";`);
    this.addSql(`create index "leads_organization_last_seen_at_id_index" on "leads" ("organization", "last_seen_at" desc, "id");`);

    this.addSql(`alter table "webhook_deliveries" add column "organization" text null, add column "connection_id" uuid null;`);
    this.addSql(`create index "webhook_deliveries_organization_received_at_index" on "webhook_deliveries" ("organization", "received_at" desc);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "webhook_deliveries_organization_received_at_index";`);
    this.addSql(`alter table "webhook_deliveries" drop column "organization", drop column "connection_id";`);
    // Only where no lead was split: merging people back across organizations would lose details, so it fails then.
    this.addSql(`drop index "leads_organization_last_seen_at_id_index";`);
    this.addSql(`create index "leads_last_seen_at_id_index" on "leads" ("last_seen_at" desc, "id");`);
    this.addSql(`alter table "leads" drop constraint "leads_organization_email_key_unique";`);
    this.addSql(`alter table "leads" drop column "organization";`);
    this.addSql(`alter table "leads" add constraint "leads_email_key_unique" unique ("email_key");`);
    this.addSql(`drop table "calendly_connections";`);
  }

}
