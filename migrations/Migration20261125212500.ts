import { Migration } from '@mikro-orm/migrations';

export class Migration20261125212500 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "refused_requests" ("minute" timestamptz not null, "reason" text not null, "count" int not null, constraint "refused_requests_pkey" primary key ("minute", "reason"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "refused_requests";`);
  }

}
