import { Migration } from '@mikro-orm/migrations';

/**
 * GET /api/deliveries (src/receiver/delivery-log-api.ts) reads an organization's delivery log latest first, page by
 * page: this index serves that order per organization without reading the others' rows.
 */
export class Migration20261207052000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "webhook_deliveries_organization_received_at_index" on "webhook_deliveries" ("organization", "received_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "webhook_deliveries_organization_received_at_index";`);
  }

}
