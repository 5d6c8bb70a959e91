import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for reads that must stay fast at 100k+ rows: the lead list of an organization (leads by last seen, each
 * probed for a meeting in the organization) and the retention schedule's deletes from the outbox.
 */
export class Migration20261125215000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "leads_last_seen_at_id_index" on "leads" ("last_seen_at" desc, "id");`);
    this.addSql(`create index "meetings_organization_lead_id_index" on "meetings" ("organization", "lead_id");`);
    this.addSql(`create index "outbox_events_created_at_index" on "outbox_events" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "outbox_events_created_at_index";`);
    this.addSql(`drop index "meetings_organization_lead_id_index";`);
    this.addSql(`drop index "leads_last_seen_at_id_index";`);
  }

}
