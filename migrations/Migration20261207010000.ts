import { Migration } from '@mikro-orm/migrations';

/**
 * One account model: the single account of CALENDLY_API_TOKEN is a connection too (src/connections/personal-token.ts),
 * of kind `personal_token`, beside the `oauth` ones. Its token and signing key come from the environment, so it stores
 * none: `signing_key` may be null (for that kind only). One organization of ours per Calendly organization holds
 * among OAuth connections, as before: another organization may connect the personal token's Calendly organization.
 */
export class Migration20261207010000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "calendly_connections" add column "kind" text not null default 'oauth';`);
    this.addSql(`alter table "calendly_connections" alter column "signing_key" drop not null;`);
    this.addSql(`alter table "calendly_connections" add constraint "calendly_connections_signing_key_of_kind" check ("kind" = 'personal_token' or "signing_key" is not null);`);
    this.addSql(`drop index "calendly_connections_calendly_organization_unique";`);
    this.addSql(`create unique index "calendly_connections_calendly_organization_unique" on "calendly_connections" ("calendly_organization") where "status" <> 'disconnected' and "kind" = 'oauth';`);
  }

  override async down(): Promise<void> {
    this.addSql(`delete from "calendly_connections" where "kind" = 'personal_token';`);
    this.addSql(`drop index "calendly_connections_calendly_organization_unique";`);
    this.addSql(`create unique index "calendly_connections_calendly_organization_unique" on "calendly_connections" ("calendly_organization") where "status" <> 'disconnected';`);
    this.addSql(`alter table "calendly_connections" drop constraint "calendly_connections_signing_key_of_kind";`);
    this.addSql(`alter table "calendly_connections" alter column "signing_key" set not null;`);
    this.addSql(`alter table "calendly_connections" drop column "kind";`);
  }

}
