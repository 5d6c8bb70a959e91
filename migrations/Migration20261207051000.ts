import { Migration } from '@mikro-orm/migrations';

/**
 * Leads from routing forms: each organization's routing form submissions (one row per organization and submission
 * URI, so a redelivery or a later sync finds it), linked to the lead of its email answer; a meeting keeps the
 * submission that led to it (the invitee's `routing_form_submission`), so either arrival order links them. A
 * connection records whether Calendly delivers routing form submissions to it (`routing_forms`, with why not).
 */
export class Migration20261207051000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "routing_form_submissions" (
      "id" uuid not null default gen_random_uuid(),
      "organization" text not null,
      "uri" text not null,
      "routing_form_uri" text not null,
      "routing_form_name" text null,
      "questions_and_answers" jsonb not null,
      "tracking" jsonb null,
      "result_type" text null,
      "result_value" jsonb null,
      "submitter_uri" text null,
      "submitter_type" text null,
      "lead_id" uuid null,
      "submitted_at" timestamptz not null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "routing_form_submissions_pkey" primary key ("id"),
      constraint "routing_form_submissions_organization_uri_unique" unique ("organization", "uri"),
      constraint "routing_form_submissions_lead_id_foreign" foreign key ("lead_id") references "leads" ("id") on update cascade on delete set null);`);
    this.addSql(`create index "routing_form_submissions_organization_submitted_at_index" on "routing_form_submissions" ("organization", "submitted_at");`);
    this.addSql(`create index "routing_form_submissions_lead_id_index" on "routing_form_submissions" ("lead_id");`);
    this.addSql(`alter table "meetings" add column "routing_form_submission_uri" text null;`);
    this.addSql(`create index "meetings_organization_routing_form_submission_uri_index" on "meetings" ("organization", "routing_form_submission_uri") where "routing_form_submission_uri" is not null;`);
    this.addSql(`alter table "calendly_connections" add column "routing_forms" text null, add column "routing_forms_detail" text null;`);
    this.addSql(`alter table "calendly_connections" add constraint "calendly_connections_routing_forms_check" check ("routing_forms" in ('subscribed', 'unavailable'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "calendly_connections" drop constraint "calendly_connections_routing_forms_check";`);
    this.addSql(`alter table "calendly_connections" drop column "routing_forms", drop column "routing_forms_detail";`);
    this.addSql(`drop index "meetings_organization_routing_form_submission_uri_index";`);
    this.addSql(`alter table "meetings" drop column "routing_form_submission_uri";`);
    this.addSql(`drop table "routing_form_submissions";`);
  }

}
