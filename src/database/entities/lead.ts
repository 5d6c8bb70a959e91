import { EntitySchema } from '@mikro-orm/core';

/** A person who booked with one organization at least once; one per organization and email address, compared case-insensitively. */
export interface Lead {
  id: string;
  /** whose lead this is: the same person booking with two organizations is two leads */
  organization: string | null;
  /** lower-cased, trimmed email: the identity of a lead */
  emailKey: string;
  /** the email as last given */
  email: string;
  name: string;
  firstName: string | null;
  lastName: string | null;
  timezone: string | null;
  phone: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

export const LeadSchema = new EntitySchema<Lead>({
  name: 'Lead',
  tableName: 'leads',
  // The lead list's order (src/database/leads.ts, listLeads), walked from the newest without sorting.
  indexes: [
    {
      name: 'leads_organization_last_seen_at_id_index',
      expression: 'create index "leads_organization_last_seen_at_id_index" on "leads" ("organization", "last_seen_at" desc, "id")',
    },
  ],
  uniques: [{ name: 'leads_organization_email_key_unique', properties: ['organization', 'emailKey'] }],
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    organization: { type: 'text', nullable: true },
    emailKey: { type: 'text' },
    email: { type: 'text' },
    name: { type: 'text' },
    firstName: { type: 'text', nullable: true },
    lastName: { type: 'text', nullable: true },
    timezone: { type: 'text', nullable: true },
    phone: { type: 'text', nullable: true },
    firstSeenAt: { type: 'datetime', columnType: 'timestamptz' },
    lastSeenAt: { type: 'datetime', columnType: 'timestamptz' },
    createdAt: { type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' },
    updatedAt: { type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' },
  },
});
