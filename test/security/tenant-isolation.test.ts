/**
 * A meeting is one organization's: another organization holding the same invitee URI (the same Calendly organization
 * connected by a second organization of ours, or a booking read through another company's connection) gets a meeting
 * of its own, and nothing it is sent (a booking, a no-show, a cancel that could not be read) reads or changes the
 * first organization's meeting, lead, reminders or reminder workflow. Real receiver, worker, Temporal and PostgreSQL,
 * against the fake Calendly API.
 */
import { randomUUID } from 'node:crypto';
import { tellMeetingWorkflow } from '../../activities/reminders';
import { signatureFor } from '../../src/calendly/signature';
import type { WebhookEventName } from '../../src/calendly/schemas';
import { plan as planQuery } from '../../src/contract';
import { saveBookings } from '../../src/database/bookings';
import { MeetingSchema } from '../../src/database/entities/meeting';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { ReminderSchema } from '../../src/database/entities/reminder';
import { cancelMeetingFromFailedDelivery, meetingSnapshot, recordNoShowChange } from '../../src/database/meetings';
import { planReminders } from '../../src/database/reminders';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { booking, newEmail, newOrganization } from '../database/database';
import { connectAndSetUp, signingKeyOf } from '../support/oauth-flow';
import { API_TOKEN, eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

/** Another company: its own organization of ours and API token. */
const OTHER = {
  organization: `https://app.example.com/organizations/other-company-${randomUUID()}`,
  token: `other-company-api-token-${randomUUID().replaceAll('-', '')}`,
};

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ ...oauthEnvironment(fake), API_TOKENS: [API_TOKEN, `${OTHER.token}:${OTHER.organization}`].join(','), REMINDER_OFFSETS: '1h' }),
  });
});
afterAll(() => system?.stop());

const meetingsOf = (inviteeUri: string) => system.orm.em.fork().find(MeetingSchema, { inviteeUri }, { populate: ['lead'], orderBy: { createdAt: 'asc' } });
const meetingIn = (organization: string, inviteeUri: string) =>
  system.orm.em.fork().findOneOrFail(MeetingSchema, { organization, inviteeUri }, { populate: ['lead'], refresh: true });
const remindersOf = (meetingId: string) => system.orm.em.fork().find(ReminderSchema, { meeting: meetingId }, { orderBy: { offsetSeconds: 'asc' } });

describe('the same invitee URI stored for two organizations', () => {
  const victim = newOrganization();
  const attacker = newOrganization();
  const inviteeUri = `https://api.calendly.com/scheduled_events/${randomUUID()}/invitees/${randomUUID()}`;
  let victimMeetingId: string;
  let victimLeadId: string;

  beforeAll(async () => {
    const stored = booking({ email: newEmail('victim'), name: 'Vera Victim', inviteeUri, at: '2030-01-01T10:00:00.000Z', startTime: '2031-06-01T09:00:00.000Z' });
    const [saved] = await saveBookings(system.orm.em.fork(), [stored], victim, randomUUID());
    victimMeetingId = saved.meetingId;
    victimLeadId = saved.leadId;
    await planReminders(system.orm.em.fork(), victimMeetingId, [3600], new Date('2031-01-01T00:00:00Z'));
  });

  it("gives the other organization's newer booking a meeting and lead of its own, leaving the first one's as they were", async () => {
    const before = await meetingIn(victim, inviteeUri);
    const hostile = booking({ email: newEmail('attacker'), name: 'Mallory', inviteeUri, at: '2030-06-01T10:00:00.000Z', startTime: '2031-07-01T09:00:00.000Z' });
    const [saved] = await saveBookings(system.orm.em.fork(), [hostile], attacker, randomUUID());

    expect(saved.meetingId).not.toBe(victimMeetingId);
    expect(saved.leadId).not.toBe(victimLeadId);
    const after = await meetingIn(victim, inviteeUri);
    expect(after).toMatchObject({ id: victimMeetingId, organization: victim, startTime: before.startTime, calendlyUpdatedAt: before.calendlyUpdatedAt, workflowId: before.workflowId });
    expect(after.lead).toMatchObject({ id: victimLeadId, name: 'Vera Victim' });
    expect(await meetingIn(attacker, inviteeUri)).toMatchObject({ id: saved.meetingId, organization: attacker, lead: { name: 'Mallory' } });
    expect(await remindersOf(victimMeetingId)).toEqual([expect.objectContaining({ state: 'scheduled', fireAt: new Date('2031-06-01T08:00:00.000Z') })]);
    // Each one's reminders are kept by a workflow of its own.
    expect(after.workflowId).not.toBe((await meetingIn(attacker, inviteeUri)).workflowId);
  });

  it("marks a no-show of the other organization on its own meeting only", async () => {
    const mark = { inviteeUri, noShowAt: '2031-06-01T09:10:00.000Z', occurredAt: '2031-06-01T09:10:00.000Z' };
    const noLongerNew = booking({ email: newEmail('attacker'), inviteeUri, at: '2030-06-01T10:00:00.000Z' });
    await saveBookings(system.orm.em.fork(), [noLongerNew], attacker, PERSONAL_TOKEN_CONNECTION_ID, mark);
    expect((await meetingIn(attacker, inviteeUri)).noShowAt).toEqual(new Date(mark.noShowAt));
    expect((await meetingIn(victim, inviteeUri)).noShowAt).toBeNull();

    // An organization holding no meeting for the invitee changes nothing, nor is told anything.
    expect(await recordNoShowChange(system.orm.em.fork(), newOrganization(), { ...mark, occurredAt: '2031-06-01T09:20:00.000Z' })).toBeUndefined();
    expect((await meetingIn(victim, inviteeUri)).noShowAt).toBeNull();
  });

  it("cancels the other organization's meeting only when its cancel cannot be read", async () => {
    const outsider = newOrganization();
    expect(await cancelMeetingFromFailedDelivery(system.orm.em.fork(), outsider, inviteeUri, '2030-07-01T10:00:00.000Z', 'gone')).toBe(false);
    expect(await cancelMeetingFromFailedDelivery(system.orm.em.fork(), attacker, inviteeUri, '2030-07-01T10:00:00.000Z', 'gone')).toBe(true);

    expect((await meetingIn(attacker, inviteeUri)).status).toBe('canceled');
    expect(await meetingIn(victim, inviteeUri)).toMatchObject({ status: 'active', canceledAt: null, cancelReason: null });
    const events = await system.orm.em.fork().find(OutboxEventSchema, { organization: { $in: [victim, outsider] }, type: 'meeting.canceled' });
    expect(events).toEqual([]);
  });

  it("tells a reminder workflow its own organization's meeting only", async () => {
    expect((await meetingSnapshot(system.orm.em.fork(), victim, inviteeUri))?.meeting).toMatchObject({ meetingId: victimMeetingId, status: 'active' });
    expect(await meetingSnapshot(system.orm.em.fork(), newOrganization(), inviteeUri)).toBeUndefined();
  });
});

describe("a second organization connecting the personal token connection's Calendly organization", () => {
  interface Meetings {
    environment: Awaited<ReturnType<typeof meetingIn>>;
    connection: Awaited<ReturnType<typeof meetingIn>>;
  }
  let connectionId: string;
  let signingKey: string;

  /** Sends `event` about the invitee to the connection's URL only, signed with its key: the personal token connection's is not told. */
  async function deliverToConnection(event: WebhookEventName, inviteeUri: string) {
    const { body } = system.fake.webhookDelivery(event, inviteeUri, 'unused-key-0123456789');
    const response = await fetch(`${system.receiverUrl}/calendly/webhook/${connectionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, signingKey, Math.floor(Date.now() / 1000)) },
      body,
    });
    expect(response.status).toBe(202);
    return (await response.json()) as { workflowId: string; trackingId: string };
  }

  async function bothMeetings(inviteeUri: string): Promise<Meetings> {
    await eventually(async () => ((await meetingsOf(inviteeUri)).length === 2 ? true : undefined), 30_000, 'a meeting in each organization');
    return { environment: await meetingIn(system.fake.organizationUri, inviteeUri), connection: await meetingIn(OTHER.organization, inviteeUri) };
  }

  beforeAll(async () => {
    await system.subscribeReceiver();
    connectionId = await connectAndSetUp(system, OTHER.token, system.fake.userUri);
    signingKey = await signingKeyOf(system, connectionId);
  });

  it('stores a booking delivered to both once in each organization, each with its own lead and reminder workflow', async () => {
    const startTime = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const { invitee } = await system.fake.bookMeeting({ email: newEmail('shared'), startTime });
    const { environment, connection } = await bothMeetings(invitee.uri);

    expect(environment.id).not.toBe(connection.id);
    expect(environment.lead.id).not.toBe(connection.lead.id);
    // The personal token connection's meeting workflows keep the unprefixed ID they had before it was a connection.
    expect(environment.workflowId).toBe(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    expect(connection.workflowId).toBe(meetingWorkflowId(invitee.uri, connectionId));
    // Each workflow keeps its own organization's reminders.
    const plans = await eventually(async () => {
      const [ofEnvironment, ofConnection] = await Promise.all([
        system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).query(planQuery),
        system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, connectionId)).query(planQuery),
      ]);
      return ofEnvironment?.reminders.length && ofConnection?.reminders.length ? { ofEnvironment, ofConnection } : undefined;
    }, 30_000, 'both meeting workflows');
    expect(plans.ofEnvironment.reminders.map(({ reminderId }) => reminderId)).toEqual((await remindersOf(environment.id)).map(({ id }) => id));
    expect(plans.ofConnection.reminders.map(({ reminderId }) => reminderId)).toEqual((await remindersOf(connection.id)).map(({ id }) => id));
  });

  it("applies a no-show and a cancel that could not be read, delivered to the connection, to its organization's meeting only", async () => {
    const startTime = new Date(Date.now() + 6 * 86_400_000).toISOString();
    const { invitee } = await system.fake.bookMeeting({ email: newEmail('shared'), startTime });
    const { environment } = await bothMeetings(invitee.uri);

    await system.fake.markNoShow(invitee.uri, { deliver: false });
    const noShow = await deliverToConnection('invitee_no_show.created', invitee.uri);
    await expect(deliveryOutcome(system, noShow.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
    expect((await meetingIn(OTHER.organization, invitee.uri)).noShowAt).not.toBeNull();
    expect((await meetingIn(system.fake.organizationUri, invitee.uri)).noShowAt).toBeNull();

    // Calendly cannot show the cancel any more (404): the connection's meeting is canceled from what is known.
    await system.fake.cancelInvitee(invitee.uri, undefined, { deliver: false });
    system.fake.failNext('/scheduled_events', { status: 404, count: 1 });
    const cancel = await deliverToConnection('invitee.canceled', invitee.uri);
    await expect(deliveryOutcome(system, cancel.trackingId)).resolves.toMatchObject({ outcome: 'failed' });
    expect((await meetingIn(OTHER.organization, invitee.uri)).status).toBe('canceled');
    await expect(system.temporal.workflow.getHandle(cancel.workflowId).result()).resolves.toMatchObject({ status: 'canceled' });

    const untouched = await meetingIn(system.fake.organizationUri, invitee.uri);
    expect(untouched).toMatchObject({ id: environment.id, status: 'active', canceledAt: null, noShowAt: null });
    expect((await remindersOf(environment.id)).map(({ state }) => state)).toEqual(['scheduled']);
    const plan = await system.temporal.workflow.getHandle(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)).query(planQuery);
    expect(plan?.status).toBe('active');
  });

  it("keeps telling a connection's meeting stored before the prefix the workflow it was started with, which keeps its reminders", async () => {
    const startTime = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const { event, invitee } = await system.fake.bookMeeting({ email: newEmail('stored-before'), startTime }, { deliver: false });
    // As such a meeting was left by the migration: no workflow_id, and its workflow running under the unprefixed ID.
    await saveBookings(system.orm.em.fork(), [{ event, invitee }], OTHER.organization, PERSONAL_TOKEN_CONNECTION_ID);
    const stored = (await meetingSnapshot(system.orm.em.fork(), OTHER.organization, invitee.uri))!;
    expect(stored.workflowId).toBe(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID));
    const reminders = await planReminders(system.orm.em.fork(), stored.meeting.meetingId, [3600], new Date());
    await tellMeetingWorkflow(system.temporal, system.config.temporal.taskQueue, { meeting: stored.meeting, offsetsSeconds: [3600], reminders, sendOutbound: false }, stored.workflowId, connectionId);

    await system.fake.cancelInvitee(invitee.uri, undefined, { deliver: false });
    const cancel = await deliverToConnection('invitee.canceled', invitee.uri);
    await expect(deliveryOutcome(system, cancel.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
    await expect(system.temporal.workflow.getHandle(stored.workflowId).result()).resolves.toMatchObject({ status: 'canceled' });
    // The delivery went to the prefixed ID (the receiver reads no database): that short run handed it over and kept nothing.
    expect(cancel.workflowId).toBe(meetingWorkflowId(invitee.uri, connectionId));
    await expect(system.temporal.workflow.getHandle(cancel.workflowId).result()).resolves.toBeNull();
  });
});
