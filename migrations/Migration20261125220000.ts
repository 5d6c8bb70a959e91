import { Migration } from '@mikro-orm/migrations';

export class Migration20261125220000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" add column "scheduled_event_uri" text null, add column "invitee_uri" text null, add column "occurred_at" text null;`);

    this.addSql(`alter table "reminders" add column "outbound_failed_at" timestamptz null, add column "outbound_failure" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_deliveries" drop column "scheduled_event_uri", drop column "invitee_uri", drop column "occurred_at";`);

    this.addSql(`alter table "reminders" drop column "outbound_failed_at", drop column "outbound_failure";`);
  }

}
