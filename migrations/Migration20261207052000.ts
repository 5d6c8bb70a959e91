import { Migration } from '@mikro-orm/migrations';

/**
 * The delivery log keeps the invitee's email key (lower-cased) from the signed delivery, so that GET /api/deliveries?email=
 * finds a delivery that failed before its invitee was ever stored as a meeting: the one a person asks about.
 */
export class Migration20261207052000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" add column "invitee_email_key" text null;`);
    this.addSql(`create index "webhook_deliveries_organization_invitee_email_key_index" on "webhook_deliveries" ("organization", "invitee_email_key");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "webhook_deliveries_organization_invitee_email_key_index";`);
    this.addSql(`alter table "webhook_deliveries" drop column "invitee_email_key";`);
  }

}
