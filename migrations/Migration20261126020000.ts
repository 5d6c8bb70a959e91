import { Migration } from '@mikro-orm/migrations';

export class Migration20261126020000 extends Migration {

  override async up(): Promise<void> {
    // API tokens issued per organization by `npm run api-tokens`; only the SHA-256 of each token is kept.
    this.addSql(`create table "api_tokens" ("id" uuid not null default gen_random_uuid(), "organization" text not null, "label" text null, "token_hash" bytea not null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_tokens_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "api_tokens_organization_created_at_index" on "api_tokens" ("organization", "created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_tokens" cascade;`);
  }

}
