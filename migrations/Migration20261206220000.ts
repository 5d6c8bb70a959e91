import { Migration } from '@mikro-orm/migrations';

/**
 * A meeting is one organization's: the same invitee URI stored for two organizations is two meetings, and a booking
 * never moves a meeting from one organization to another. Rows stored before keep their identity (each invitee URI was
 * unique) and, with `workflow_id` null, the reminder workflow ID they were started with.
 */
export class Migration20261206220000 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "meetings" drop constraint "meetings_invitee_uri_unique";`);
    this.addSql(`alter table "meetings" add constraint "meetings_organization_invitee_uri_unique" unique nulls not distinct ("organization", "invitee_uri");`);
    this.addSql(`alter table "meetings" add column "workflow_id" text null;`);
  }

  override async down(): Promise<void> {
    // Only while no invitee URI is held by two organizations: merging their meetings would lose one, so it fails then.
    this.addSql(`alter table "meetings" drop column "workflow_id";`);
    this.addSql(`alter table "meetings" drop constraint "meetings_organization_invitee_uri_unique";`);
    this.addSql(`alter table "meetings" add constraint "meetings_invitee_uri_unique" unique ("invitee_uri");`);
  }

}
