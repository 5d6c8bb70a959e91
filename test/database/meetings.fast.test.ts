/** src/database/meetings.ts: what a booking stores, in Calendly's order, and the meeting reads of the API, dashboard and reminders. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { listMeetings, meetingCounts, meetingSnapshot, recordNoShowChange, upcomingMeetings } from '../../src/database/meetings';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { booking, newEmail, newOrganization, openOrm, type BookingFields } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

async function save(organization: string, fields: BookingFields) {
  const stored = booking(fields);
  const [saved] = await saveBookings(orm.em.fork(), [stored], organization, PERSONAL_TOKEN_CONNECTION_ID);
  return { ...saved, ...stored };
}

const meeting = (inviteeUri: string) => orm.em.fork().findOneOrFail(MeetingSchema, { inviteeUri }, { populate: ['lead'] });

describe('upsertMeeting (through saveBookings)', () => {
  it('stores every detail of the booking', async () => {
    const organization = newOrganization();
    const email = newEmail('details');
    const { invitee, event, leadId } = await save(organization, { email, startTime: '2031-06-01T09:00:00.000Z', at: '2030-01-01T10:00:00.000Z' });
    expect(await meeting(invitee.uri)).toMatchObject({
      inviteeUri: invitee.uri,
      scheduledEventUri: event.uri,
      eventTypeUri: 'https://api.calendly.com/event_types/INTRO',
      name: 'Intro call',
      startTime: new Date('2031-06-01T09:00:00.000Z'),
      endTime: new Date('2031-06-01T09:30:00.000Z'),
      location: { type: 'zoom', join_url: 'https://zoom.example/j/1' },
      status: 'active',
      hostName: 'Host',
      hostEmail: 'host@example.com',
      hostUri: 'https://api.calendly.com/users/HOST',
      answers: [{ question: 'Company?', answer: 'Acme', position: 0 }],
      tracking: expect.objectContaining({ utm_campaign: 'spring' }),
      cancelUrl: 'https://calendly.com/cancellations/1',
      rescheduleUrl: 'https://calendly.com/reschedulings/1',
      canceledAt: null,
      rescheduled: false,
      oldInviteeUri: null,
      newInviteeUri: null,
      noShowAt: null,
      bookedAt: new Date('2030-01-01T10:00:00.000Z'),
      calendlyUpdatedAt: new Date('2030-01-01T10:00:00.000Z'),
      organization,
      lead: { id: leadId, email },
    });
  });

  it('takes a newer read of Calendly and ignores an older one arriving late', async () => {
    const organization = newOrganization();
    const email = newEmail('order');
    const { invitee } = await save(organization, { email, at: '2030-01-01T10:00:00.000Z' });
    await save(organization, { email, inviteeUri: invitee.uri, status: 'canceled', at: '2030-01-03T10:00:00.000Z' });
    await save(organization, { email, inviteeUri: invitee.uri, status: 'active', at: '2030-01-02T10:00:00.000Z' });
    expect(await meeting(invitee.uri)).toMatchObject({
      status: 'canceled',
      canceledAt: new Date('2030-01-03T10:00:00.000Z'),
      cancelReason: 'busy',
      calendlyUpdatedAt: new Date('2030-01-03T10:00:00.000Z'),
    });
    await save(organization, { email, inviteeUri: invitee.uri, status: 'canceled', rescheduled: true, at: '2030-01-04T10:00:00.000Z' });
    expect((await meeting(invitee.uri)).status).toBe('rescheduled');
  });
});

describe('recordNoShowChange', () => {
  it('applies no-show marks in the order they happened in Calendly', async () => {
    const organization = newOrganization();
    const { invitee } = await save(organization, { email: newEmail('no-show') });
    const em = orm.em.fork();
    const mark = { inviteeUri: invitee.uri, noShowAt: '2031-06-01T09:10:00.000Z', occurredAt: '2031-06-01T09:10:00.000Z' };
    expect(await recordNoShowChange(em, organization, mark)).toEqual({ organization, wasNoShow: false });
    const unmark = { inviteeUri: invitee.uri, noShowAt: null, occurredAt: '2031-06-01T09:20:00.000Z' };
    expect(await recordNoShowChange(em, organization, unmark)).toEqual({ organization, wasNoShow: true });
    // The mark again, delivered late: the unmark happened after it and stays.
    expect(await recordNoShowChange(em, organization, mark)).toBeUndefined();
    expect((await meeting(invitee.uri)).noShowAt).toBeNull();
    expect(await recordNoShowChange(em, organization, { ...mark, inviteeUri: `${invitee.uri}-unknown` })).toBeUndefined();
  });
});

describe('meetingSnapshot', () => {
  it('tells the reminder workflow the meeting, its lead\'s email key and its event', async () => {
    const email = newEmail('Snapshot');
    const organization = newOrganization();
    const { invitee, event, meetingId } = await save(organization, { email: ` ${email} `, startTime: '2031-07-01T08:00:00.000Z', status: 'canceled' });
    expect(await meetingSnapshot(orm.em.fork(), organization, invitee.uri)).toEqual({
      meeting: {
        meetingId,
        inviteeUri: invitee.uri,
        inviteeEmail: email.toLowerCase(),
        eventUuid: event.uri.split('/').at(-1),
        status: 'canceled',
        startTime: '2031-07-01T08:00:00.000Z',
      },
      workflowId: meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID),
    });
    expect(await meetingSnapshot(orm.em.fork(), organization, `${invitee.uri}-unknown`)).toBeUndefined();
    expect(await meetingSnapshot(orm.em.fork(), newOrganization(), invitee.uri)).toBeUndefined();
  });
});

describe('listMeetings', () => {
  const organization = newOrganization();
  const otherOrganization = newOrganization();
  const email = newEmail('Lister');
  const starts = ['2032-01-10T09:00:00.000Z', '2032-01-11T09:00:00.000Z', '2032-01-12T09:00:00.000Z'];
  const page = { limit: 50, offset: 0 };
  let otherInviteeUri: string;

  beforeAll(async () => {
    for (const startTime of starts) await save(organization, { email, startTime });
    await save(organization, { email, startTime: '2032-01-13T09:00:00.000Z', status: 'canceled' });
    await save(organization, { email, startTime: '2032-01-14T09:00:00.000Z', noShowAt: '2032-01-14T09:10:00.000Z' });
    ({ invitee: { uri: otherInviteeUri } } = await save(otherOrganization, { email, startTime: '2032-01-10T08:00:00.000Z' }));
  });

  const startsOf = ([meetings]: Awaited<ReturnType<typeof listMeetings>>) => meetings.map((listed) => listed.startTime.toISOString());

  it('lists an organization\'s meetings in start order, page by page, with their leads', async () => {
    const first = await listMeetings(orm.em.fork(), { organization, limit: 2, offset: 0 });
    expect(first[1]).toBe(5);
    expect(startsOf(first)).toEqual(starts.slice(0, 2));
    expect(first[0][0].lead.email).toBe(email);
    const last = await listMeetings(orm.em.fork(), { organization, limit: 2, offset: 4 });
    expect(startsOf(last)).toEqual(['2032-01-14T09:00:00.000Z']);
  });

  it('filters by email whatever its case, status, no-show and start range', async () => {
    expect((await listMeetings(orm.em.fork(), { organization, email: email.toUpperCase(), ...page }))[1]).toBe(5);
    expect(startsOf(await listMeetings(orm.em.fork(), { organization, status: 'canceled', ...page }))).toEqual(['2032-01-13T09:00:00.000Z']);
    expect(startsOf(await listMeetings(orm.em.fork(), { organization, noShow: true, ...page }))).toEqual(['2032-01-14T09:00:00.000Z']);
    expect((await listMeetings(orm.em.fork(), { organization, noShow: false, ...page }))[1]).toBe(4);
    const range = { startFrom: new Date('2032-01-11T00:00:00Z'), startTo: new Date('2032-01-12T09:00:00Z') };
    expect(startsOf(await listMeetings(orm.em.fork(), { organization, ...range, ...page }))).toEqual(['2032-01-11T09:00:00.000Z']);
  });

  it('does not show one organization the meetings of another', async () => {
    const [meetings, total] = await listMeetings(orm.em.fork(), { organization: otherOrganization, email, ...page });
    expect({ uris: meetings.map((listed) => listed.inviteeUri), total }).toEqual({ uris: [otherInviteeUri], total: 1 });
    expect(await listMeetings(orm.em.fork(), { organization: newOrganization(), email, ...page })).toEqual([[], 0]);
    // Without an organization (a token bound to none), meetings of every organization.
    expect((await listMeetings(orm.em.fork(), { email, ...page }))[1]).toBe(6);
  });
});

describe('meetingCounts and upcomingMeetings', () => {
  const organization = newOrganization();
  const otherOrganization = newOrganization();
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  const later = new Date(Date.now() + 7_200_000).toISOString();
  const past = new Date(Date.now() - 7_200_000).toISOString();
  let soonUri: string;
  let laterUri: string;

  beforeAll(async () => {
    const email = newEmail('counted');
    ({ invitee: { uri: laterUri } } = await save(organization, { email, startTime: later }));
    ({ invitee: { uri: soonUri } } = await save(organization, { email, startTime: soon }));
    await save(organization, { email, startTime: past, noShowAt: past });
    await save(organization, { email, startTime: soon, status: 'canceled' });
    await save(organization, { email, startTime: soon, status: 'canceled', rescheduled: true });
    await save(otherOrganization, { email, startTime: soon, status: 'canceled' });
  });

  it('counts an organization\'s meetings by what became of them', async () => {
    expect(await meetingCounts(orm.em.fork(), organization)).toEqual({ booked: 5, canceled: 1, rescheduled: 1, noShow: 1 });
    expect(await meetingCounts(orm.em.fork(), otherOrganization)).toEqual({ booked: 1, canceled: 1, rescheduled: 0, noShow: 0 });
    expect(await meetingCounts(orm.em.fork(), newOrganization())).toEqual({ booked: 0, canceled: 0, rescheduled: 0, noShow: 0 });
  });

  it('counts the meetings of every organization when none is given', async () => {
    const all = await meetingCounts(orm.em.fork(), undefined);
    expect(all.booked).toBeGreaterThanOrEqual(6);
    expect(all.canceled).toBeGreaterThanOrEqual(2);
  });

  it('lists an organization\'s active meetings that have not ended, soonest first, up to the limit', async () => {
    const upcoming = await upcomingMeetings(orm.em.fork(), organization, new Date(), 20);
    expect(upcoming.map((listed) => listed.inviteeUri)).toEqual([soonUri, laterUri]);
    expect(upcoming[0].lead.email).toMatch(/^counted-/);
    expect((await upcomingMeetings(orm.em.fork(), organization, new Date(), 1)).map((listed) => listed.inviteeUri)).toEqual([soonUri]);
    expect(await upcomingMeetings(orm.em.fork(), otherOrganization, new Date(), 20)).toEqual([]);
  });
});
