import { Migration } from '@mikro-orm/migrations';

/** An endpoint's workflow sends its pending deliveries oldest first: each pass reads the next one by this index. */
export class Migration20261207060000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "outbound_deliveries_endpoint_pending_index" on "outbound_deliveries" ("endpoint_id", "created_at", "outbox_event_id") where "state" = 'pending';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "outbound_deliveries_endpoint_pending_index";`);
  }

}
