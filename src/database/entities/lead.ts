import { EntitySchema } from '@mikro-orm/core';

/** A person who booked at least once; one per email address, compared case-insensitively. */
export interface Lead {
  id: string;
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
  indexes: [{ name: 'leads_last_seen_at_id_index', expression: 'create index "leads_last_seen_at_id_index" on "leads" ("last_seen_at" desc, "id")' }],
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    emailKey: { type: 'text', unique: 'leads_email_key_unique' },
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
