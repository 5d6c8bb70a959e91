/** src/database/leads.ts: one lead per organization and email whatever its case, details from the latest booking, and the lead list. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { LeadSchema } from '../../src/database/entities/lead';
import { listLeads, upsertLead } from '../../src/database/leads';
import { booking, newEmail, newOrganization, openOrm } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

describe('upsertLead', () => {
  const ORGANIZATION = newOrganization();

  it('keeps one lead per email, whatever its case and spacing, and says whether it was created or changed', async () => {
    const email = newEmail('Case');
    const em = orm.em.fork();
    const created = await upsertLead(em, booking({ email: ` ${email.toUpperCase()} `, at: '2030-01-01T10:00:00.000Z' }).invitee, ORGANIZATION);
    expect(created.change).toBe('created');

    const same = await upsertLead(em, booking({ email: ` ${email.toUpperCase()} `, at: '2030-01-01T10:00:00.000Z' }).invitee, ORGANIZATION);
    expect(same).toMatchObject({ lead: { id: created.lead.id }, change: undefined });

    const renamed = await upsertLead(em, booking({ email, name: 'Ann Lee-Park', at: '2030-02-01T10:00:00.000Z' }).invitee, ORGANIZATION);
    expect(renamed).toMatchObject({ lead: { id: created.lead.id }, change: 'updated' });
    expect(await em.count(LeadSchema, { emailKey: email.toLowerCase() })).toBe(1);
    const lead = await em.findOneOrFail(LeadSchema, { id: created.lead.id }, { refresh: true });
    expect(lead).toMatchObject({ email, name: 'Ann Lee-Park' });
  });

  it('keeps the same person booking with two organizations as two leads, each with only what it was given', async () => {
    const email = newEmail('two-orgs');
    const [first, second] = [newOrganization(), newOrganization()];
    const em = orm.em.fork();
    const inFirst = await upsertLead(em, booking({ email, name: 'Ann First', at: '2030-01-01T10:00:00.000Z' }).invitee, first);
    const inSecond = await upsertLead(em, booking({ email, name: 'Ann Second', at: '2030-02-01T10:00:00.000Z' }).invitee, second);
    expect(inSecond.change).toBe('created');
    expect(inSecond.lead.id).not.toBe(inFirst.lead.id);
    const leads = await em.find(LeadSchema, { emailKey: email.toLowerCase() }, { orderBy: { name: 'asc' }, refresh: true });
    expect(leads.map(({ organization, name }) => ({ organization, name }))).toEqual([
      { organization: first, name: 'Ann First' },
      { organization: second, name: 'Ann Second' },
    ]);
  });

  it('takes details from the most recent booking and widens first and last seen, in any order of arrival', async () => {
    const email = newEmail('order');
    const em = orm.em.fork();
    const { lead: { id: leadId } } = await upsertLead(em, booking({ email, name: 'Newer Name', timezone: null, at: '2030-03-01T10:00:00.000Z' }).invitee, ORGANIZATION);
    const older = await upsertLead(em, booking({ email, name: 'Older Name', timezone: 'Asia/Tokyo', at: '2030-01-01T10:00:00.000Z' }).invitee, ORGANIZATION);
    // The older booking only fills what the newer one left empty, and moves first seen back.
    expect(older).toMatchObject({ lead: { id: leadId }, change: 'updated' });
    const lead = await em.findOneOrFail(LeadSchema, { id: leadId }, { refresh: true });
    expect(lead).toMatchObject({
      name: 'Newer Name',
      timezone: 'Asia/Tokyo',
      firstSeenAt: new Date('2030-01-01T10:00:00.000Z'),
      lastSeenAt: new Date('2030-03-01T10:00:00.000Z'),
    });
  });
});

describe('listLeads', () => {
  const organization = newOrganization();
  const otherOrganization = newOrganization();
  const [early, late, elsewhere] = [newEmail('early'), newEmail('late'), newEmail('elsewhere')];

  beforeAll(async () => {
    const em = orm.em.fork();
    await saveBookings(em, [booking({ email: early, at: '2030-01-01T10:00:00.000Z' })], organization, PERSONAL_TOKEN_CONNECTION_ID);
    await saveBookings(em, [booking({ email: late, at: '2030-01-05T10:00:00.000Z' }), booking({ email: late, at: '2030-01-06T10:00:00.000Z' })], organization, PERSONAL_TOKEN_CONNECTION_ID);
    await saveBookings(em, [booking({ email: elsewhere, at: '2030-01-09T10:00:00.000Z' })], otherOrganization, PERSONAL_TOKEN_CONNECTION_ID);
  });

  it('lists the leads who booked in an organization, most recently seen first, page by page', async () => {
    const [firstPage, total] = await listLeads(orm.em.fork(), { organization, limit: 1, offset: 0 });
    expect(total).toBe(2);
    expect(firstPage.map((lead) => lead.email)).toEqual([late]);
    const [secondPage] = await listLeads(orm.em.fork(), { organization, limit: 1, offset: 1 });
    expect(secondPage.map((lead) => lead.email)).toEqual([early]);
  });

  it('does not show one organization the leads of another', async () => {
    const [leads, total] = await listLeads(orm.em.fork(), { organization: otherOrganization, limit: 50, offset: 0 });
    expect({ emails: leads.map((lead) => lead.email), total }).toEqual({ emails: [elsewhere], total: 1 });
    expect(await listLeads(orm.em.fork(), { organization: otherOrganization, email: early, limit: 50, offset: 0 })).toEqual([[], 0]);
    expect(await listLeads(orm.em.fork(), { organization: newOrganization(), limit: 50, offset: 0 })).toEqual([[], 0]);
  });

  it('finds a lead by email whatever its case, in every organization when none is given', async () => {
    const [leads, total] = await listLeads(orm.em.fork(), { email: ` ${elsewhere.toUpperCase()}`, limit: 50, offset: 0 });
    expect(total).toBe(1);
    expect(leads[0]).toMatchObject({ email: elsewhere, name: 'Ann Lee' });
  });
});
