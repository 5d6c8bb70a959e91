/**
 * src/database/bookings.ts: a booking saves its lead, its meeting and the outbox events frontends hear of in one
 * transaction; a retried or older read announces nothing twice.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { saveBookings } from '../../src/database/bookings';
import { LeadSchema } from '../../src/database/entities/lead';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { leadView, meetingView } from '../../src/database/views';
import { booking, newEmail, newOrganization, openOrm } from './database';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

const announced = async (organization: string) =>
  (await orm.em.fork().find(OutboxEventSchema, { organization }, { orderBy: { id: 'asc' } })).map((event) => event.type);

it('saves a new booking with lead.created and meeting.created, and a retry announces nothing', async () => {
  const organization = newOrganization();
  const email = newEmail('new');
  const first = booking({ email });
  const [saved] = await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID);
  expect(saved).toEqual({ leadId: expect.any(String), meetingId: expect.any(String), inviteeUri: first.invitee.uri });
  expect(await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID)).toEqual([saved]);
  expect(await announced(organization)).toEqual(['lead.created', 'meeting.created']);

  const [created, meeting] = await orm.em.fork().find(OutboxEventSchema, { organization }, { orderBy: { id: 'asc' } });
  expect(created.payload).toMatchObject({ lead: { id: saved.leadId, email } });
  expect(meeting.payload).toMatchObject({ meeting: { id: saved.meetingId, inviteeUri: first.invitee.uri, status: 'active', organization, lead: { email } } });
  // Another organization hears nothing of it.
  expect(await announced(newOrganization())).toEqual([]);
});

it('announces each change with the lead and the meeting exactly as they are stored', async () => {
  const organization = newOrganization();
  const email = newEmail('stored');
  const first = booking({ email, at: '2030-01-01T10:00:00.000Z' });
  const [saved] = await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID);
  await saveBookings(orm.em.fork(), [booking({ email, inviteeUri: first.invitee.uri, status: 'canceled', bookedAt: '2030-01-01T10:00:00.000Z', at: '2030-01-02T10:00:00.000Z' })], organization, PERSONAL_TOKEN_CONNECTION_ID);

  const events = await orm.em.fork().find(OutboxEventSchema, { organization }, { orderBy: { id: 'asc' } });
  const stored = await orm.em.fork().findOneOrFail(MeetingSchema, { id: saved.meetingId }, { populate: ['lead'] });
  const asSent = (view: object) => JSON.parse(JSON.stringify(view)) as unknown;
  expect(events.map((event) => event.type)).toEqual(['lead.created', 'meeting.created', 'meeting.canceled']);
  expect(events[0].payload).toEqual(asSent({ lead: leadView(stored.lead) }));
  expect(events[1].payload).toEqual(asSent({ meeting: { ...meetingView(stored), status: 'active', cancellation: null } }));
  expect(events[2].payload).toEqual(asSent({ meeting: meetingView(stored) }));
});

it('announces a cancel once, and a second booking of the same person as a new meeting of the same lead', async () => {
  const organization = newOrganization();
  const email = newEmail('cancel');
  const first = booking({ email, at: '2030-01-01T10:00:00.000Z' });
  const [saved] = await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID);
  const canceled = booking({ email, inviteeUri: first.invitee.uri, status: 'canceled', bookedAt: '2030-01-01T10:00:00.000Z', at: '2030-01-02T10:00:00.000Z' });
  await saveBookings(orm.em.fork(), [canceled], organization, PERSONAL_TOKEN_CONNECTION_ID);
  await saveBookings(orm.em.fork(), [canceled], organization, PERSONAL_TOKEN_CONNECTION_ID);
  const [again] = await saveBookings(orm.em.fork(), [booking({ email: email.toUpperCase(), at: '2030-01-02T10:00:00.000Z' })], organization, PERSONAL_TOKEN_CONNECTION_ID);
  expect(again.leadId).toBe(saved.leadId);
  // The second booking's email differs in case from the first: the lead's details change too.
  expect(await announced(organization)).toEqual(['lead.created', 'meeting.created', 'meeting.canceled', 'lead.updated', 'meeting.created']);
});

it('announces a no-show mark and its removal once each, in Calendly\'s order', async () => {
  const organization = newOrganization();
  const first = booking({ email: newEmail('no-show') });
  await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID);
  const inviteeUri = first.invitee.uri;
  const mark = { inviteeUri, noShowAt: '2031-06-01T09:10:00.000Z', occurredAt: '2031-06-01T09:10:00.000Z' };
  const unmark = { inviteeUri, noShowAt: null, occurredAt: '2031-06-01T09:20:00.000Z' };
  await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID, mark);
  await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID, mark);
  await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID, unmark);
  await saveBookings(orm.em.fork(), [first], organization, PERSONAL_TOKEN_CONNECTION_ID, mark);
  expect(await announced(organization)).toEqual(['lead.created', 'meeting.created', 'meeting.no_show', 'meeting.no_show_removed']);
});

it('saves nothing of a batch when one booking in it fails', async () => {
  const organization = newOrganization();
  const email = newEmail('batch');
  const good = booking({ email });
  const bad = booking({ email: newEmail('bad') });
  bad.event.start_time = 'not a time';
  await expect(saveBookings(orm.em.fork(), [good, bad], organization, PERSONAL_TOKEN_CONNECTION_ID)).rejects.toThrow();
  expect(await orm.em.fork().count(MeetingSchema, { inviteeUri: good.invitee.uri })).toBe(0);
  expect(await orm.em.fork().count(LeadSchema, { emailKey: email })).toBe(0);
  expect(await announced(organization)).toEqual([]);
});

it('announces a new meeting once when two transactions save it at the same time, in either order of a reschedule', async () => {
  const organization = newOrganization();
  const email = newEmail('concurrent');
  const old = booking({ email, status: 'canceled', rescheduled: true, at: '2030-01-02T10:00:00.000Z' });
  const replacement = booking({ email, at: '2030-01-02T10:00:00.000Z', startTime: '2031-06-02T09:00:00.000Z' });
  // A reschedule's two deliveries each save both sides, one in each order, while nothing of it is stored yet.
  await Promise.all([
    ...Array.from({ length: 4 }, () => saveBookings(orm.em.fork(), [old, replacement], organization, PERSONAL_TOKEN_CONNECTION_ID)),
    ...Array.from({ length: 4 }, () => saveBookings(orm.em.fork(), [replacement, old], organization, PERSONAL_TOKEN_CONNECTION_ID)),
  ]);
  expect((await announced(organization)).sort()).toEqual(['lead.created', 'meeting.created', 'meeting.created', 'meeting.rescheduled']);
  expect(await orm.em.fork().count(MeetingSchema, { organization })).toBe(2);
});
