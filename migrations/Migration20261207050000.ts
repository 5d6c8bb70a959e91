import { Migration } from '@mikro-orm/migrations';

/**
 * A meeting keeps the invitee's Calendly payment (null unless its event type takes payments): a successful one is what
 * the meeting is worth in the business counters, in its own currency (src/database/business-counters.ts).
 */
export class Migration20261207050000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "meetings"
      add column "payment_provider" text null,
      add column "payment_external_id" text null,
      add column "payment_amount" numeric null,
      add column "payment_currency" text null,
      add column "payment_successful" boolean null;`);
    this.addSql(`alter table "meetings" add constraint "meetings_payment_complete" check (
      ("payment_amount" is null and "payment_currency" is null and "payment_successful" is null)
      or ("payment_amount" is not null and "payment_currency" is not null and "payment_successful" is not null));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "meetings" drop constraint "meetings_payment_complete";`);
    this.addSql(`alter table "meetings"
      drop column "payment_provider",
      drop column "payment_external_id",
      drop column "payment_amount",
      drop column "payment_currency",
      drop column "payment_successful";`);
  }

}
