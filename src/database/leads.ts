/** The leads table: one row per organization and person (by email key), whatever number of meetings they booked. */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Invitee } from '../calendly/schemas';
import { emailKeyOf } from '../emails';
import { LeadSchema, type Lead } from './entities/lead';
import { integer, queryRows, rowShape } from './rows';

export interface LeadChange {
  /** the lead as stored now */
  lead: Lead;
  /** undefined: the booking said nothing new about the lead */
  change?: 'created' | 'updated';
}

const totalRow = rowShape({ total: integer });

const LEAD_DETAILS = ['email', 'name', 'first_name', 'last_name', 'timezone', 'phone', 'first_seen_at', 'last_seen_at'] as const;

/**
 * Call it inside a transaction that holds the lead's advisory lock (see saveBookings): leads are written only under
 * it, so the details read before the upsert, in the same statement, are the ones it replaces.
 */
export async function upsertLead(em: EntityManager, invitee: Invitee, organization: string | null): Promise<LeadChange> {
  const key = emailKeyOf(invitee.email);
  const details = (table: string) => `(${LEAD_DETAILS.map((column) => `${table}.${column}`).join(', ')})`;
  // Details come from the most recent booking; first/last seen widen with every booking, in any order.
  const [row] = await em.execute<({ inserted: boolean; changed: boolean } & Record<string, unknown>)[]>(
    `with before as (
       select ${LEAD_DETAILS.join(', ')} from leads where organization is not distinct from ? and email_key = ?
     ), upserted as (
       insert into leads (organization, email_key, email, name, first_name, last_name, timezone, phone, first_seen_at, last_seen_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       on conflict (organization, email_key) do update set
         email = case when excluded.last_seen_at >= leads.last_seen_at then excluded.email else leads.email end,
         name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.name else leads.name end,
         first_name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.first_name else leads.first_name end,
         last_name = case when excluded.last_seen_at >= leads.last_seen_at then excluded.last_name else leads.last_name end,
         timezone = case when excluded.last_seen_at >= leads.last_seen_at then coalesce(excluded.timezone, leads.timezone)
                         else coalesce(leads.timezone, excluded.timezone) end,
         phone = case when excluded.last_seen_at >= leads.last_seen_at then coalesce(excluded.phone, leads.phone)
                      else coalesce(leads.phone, excluded.phone) end,
         first_seen_at = least(leads.first_seen_at, excluded.first_seen_at),
         last_seen_at = greatest(leads.last_seen_at, excluded.last_seen_at),
         updated_at = now()
       returning *, (xmax = 0) as inserted
     )
     select upserted.*, not exists (select from before where ${details('before')} is not distinct from ${details('upserted')}) as changed
     from upserted`,
    [
      organization,
      key,
      organization,
      key,
      invitee.email.trim(),
      invitee.name,
      invitee.first_name,
      invitee.last_name,
      invitee.timezone,
      invitee.text_reminder_number,
      invitee.created_at,
      invitee.created_at,
    ],
  );
  const { inserted, changed, ...stored } = row;
  const lead = em.map(LeadSchema, stored);
  return { lead, change: inserted ? 'created' : changed ? 'updated' : undefined };
}

export interface LeadFilter {
  /** only this organization's leads */
  organization?: string;
  /** matched whatever its case */
  email?: string;
  limit: number;
  offset: number;
}

/**
 * A page of leads, most recently seen first, with the total over all pages. Filtered, ordered and limited in
 * PostgreSQL: the page walks `leads_organization_last_seen_at_id_index` and stops after `offset + limit` rows, and the
 * total is one count over the same index; the receiver gets `limit` rows and a number, however many leads there are.
 */
export async function listLeads(em: EntityManager, { organization, email, limit, offset }: LeadFilter): Promise<[Lead[], number]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (email) {
    conditions.push('l.email_key = ?');
    params.push(emailKeyOf(email));
  }
  if (organization) {
    conditions.push('l.organization = ?');
    params.push(organization);
  }
  const where = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const rows = await em.execute<Record<string, unknown>[]>(
    `select l.* from leads l ${where} order by l.last_seen_at desc, l.id asc limit ? offset ?`,
    [...params, limit, offset],
  );
  const [{ total }] = await queryRows(em, totalRow, `select count(*)::int as total from leads l ${where}`, params);
  return [rows.map((row) => em.map(LeadSchema, row)), total];
}

/** Who filled a routing form in: its email answer, and a name if the form asked for one. */
export interface FormLead {
  email: string;
  /** null: the form asked no name; the lead is named by its email until a booking names it */
  name: string | null;
  submittedAt: string;
}

/**
 * The organization's lead of a routing form submission, created or seen again; under the lead's advisory lock, as
 * upsertLead. A booking names a lead better than a form does: a form only fills in a new lead's details, and widens
 * when the lead was first and last seen.
 */
export async function upsertLeadFromForm(em: EntityManager, { email, name, submittedAt }: FormLead, organization: string): Promise<LeadChange> {
  const key = emailKeyOf(email);
  const [row] = await em.execute<({ inserted: boolean; changed: boolean } & Record<string, unknown>)[]>(
    `with before as (
       select first_seen_at, last_seen_at from leads where organization = ? and email_key = ?
     ), upserted as (
       insert into leads (organization, email_key, email, name, first_seen_at, last_seen_at)
       values (?, ?, ?, ?, ?, ?)
       on conflict (organization, email_key) do update set
         first_seen_at = least(leads.first_seen_at, excluded.first_seen_at),
         last_seen_at = greatest(leads.last_seen_at, excluded.last_seen_at),
         updated_at = now()
       returning *, (xmax = 0) as inserted
     )
     select upserted.*, not exists (
       select from before where (before.first_seen_at, before.last_seen_at) = (upserted.first_seen_at, upserted.last_seen_at)
     ) as changed
     from upserted`,
    [organization, key, organization, key, email.trim(), name ?? email.trim(), submittedAt, submittedAt],
  );
  const { inserted, changed, ...stored } = row;
  return { lead: em.map(LeadSchema, stored), change: inserted ? 'created' : changed ? 'updated' : undefined };
}
