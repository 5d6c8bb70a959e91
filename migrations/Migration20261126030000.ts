import { Migration } from '@mikro-orm/migrations';

/** The business counters (src/database/business-counters.ts) read an organization's meetings by each of these times. */
export class Migration20261126030000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "meetings_organization_booked_at_index" on "meetings" ("organization", "booked_at");`);
    this.addSql(`create index "meetings_organization_canceled_at_index" on "meetings" ("organization", "canceled_at");`);
    this.addSql(`create index "meetings_organization_start_time_index" on "meetings" ("organization", "start_time");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "meetings_organization_start_time_index";`);
    this.addSql(`drop index "meetings_organization_canceled_at_index";`);
    this.addSql(`drop index "meetings_organization_booked_at_index";`);
  }

}
