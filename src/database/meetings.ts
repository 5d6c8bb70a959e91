/**
 * The meetings table: one row per organization and invitee of a scheduled Calendly event, and the reads the API and
 * dashboard make. A meeting is found by its organization and invitee URI, never by the URI alone: the same URI held by
 * another organization is another organization's meeting.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { FilterQuery } from '@mikro-orm/core';
import { uuidOf, type Invitee, type ScheduledEvent } from '../calendly/schemas';
import type { MeetingSnapshot, NoShowChange } from '../contract';
import { emailKeyOf } from '../emails';
import { meetingWorkflowId } from '../workflow-ids';
import { MeetingSchema, type Meeting, type MeetingStatus } from './entities/meeting';
import { recordEvent } from './outbox';
import { boolean, integer, nullable, oneOf, queryRow, queryRows, rowShape, text, timestamp, type RowShape } from './rows';
import { meetingView, workflowIdOf } from './views';

const MEETING_STATUSES = ['active', 'canceled', 'rescheduled'] as const satisfies readonly MeetingStatus[];

function meetingStatusOf(invitee: Invitee): MeetingStatus {
  if (invitee.status === 'active') return 'active';
  return invitee.rescheduled ? 'rescheduled' : 'canceled';
}

export interface MeetingState {
  id: string;
  status: MeetingStatus;
  noShowAt: Date | null;
}
const meetingStateRow: RowShape<MeetingState> = rowShape({ id: text, status: oneOf(MEETING_STATUSES), noShowAt: nullable(timestamp) });
const appliedNoShowRow = rowShape({ organization: nullable(text), wasNoShow: boolean });
/** A meeting (`m`) with its lead's (`l`) email. */
const snapshotRow = rowShape({ id: text, status: oneOf(MEETING_STATUSES), startTime: timestamp, workflowId: nullable(text), email: text });
const countsRow: RowShape<MeetingCounts> = rowShape({ booked: integer, canceled: integer, rescheduled: integer, noShow: integer });

/** Call it inside a transaction: the meeting's row stays locked until it ends. */
export async function lockMeetingState(em: EntityManager, organization: string, inviteeUri: string): Promise<MeetingState | undefined> {
  return queryRow(em, meetingStateRow, `select ${meetingStateRow.columns} from meetings where organization = ? and invitee_uri = ? for update`, [
    organization,
    inviteeUri,
  ]);
}

/** Set by PostgreSQL or by a no-show change, never by reading a booking; every other property is. */
type NotFromBooking = 'id' | 'noShowAt' | 'noShowChangedAt' | 'createdAt' | 'updatedAt';
type BookedMeeting = Record<Exclude<keyof Meeting, NotFromBooking>, unknown>;
/** The meeting's identity and its workflow's ID: set once, when it is first stored; a later booking never moves it. */
const SET_ON_INSERT = ['organization', 'invitee_uri', 'workflow_id'];

/**
 * Inserts the organization's meeting, or updates it unless the row already holds a newer read of Calendly. Returns the
 * meeting as stored now, or undefined when it was left as it was. `connectionId`: the connection the booking was read
 * through, which names a new meeting's workflow.
 */
export async function upsertMeeting(
  em: EntityManager,
  event: ScheduledEvent,
  invitee: Invitee,
  leadId: string,
  organization: string,
  connectionId: string,
): Promise<Meeting | undefined> {
  const host = event.event_memberships[0];
  const cancellation = invitee.cancellation ?? null;
  const values: BookedMeeting = {
    inviteeUri: invitee.uri,
    scheduledEventUri: event.uri,
    eventTypeUri: event.event_type,
    name: event.name,
    startTime: event.start_time,
    endTime: event.end_time,
    location: JSON.stringify(event.location),
    // A group event stays active when one invitee cancels: the invitee's status is the meeting's.
    status: meetingStatusOf(invitee),
    hostName: host?.user_name ?? null,
    hostEmail: host?.user_email ?? null,
    hostUri: host?.user ?? null,
    answers: JSON.stringify(invitee.questions_and_answers),
    tracking: JSON.stringify(invitee.tracking),
    cancelUrl: invitee.cancel_url,
    rescheduleUrl: invitee.reschedule_url,
    canceledAt: cancellation?.created_at ?? null,
    canceledBy: cancellation?.canceled_by ?? null,
    cancelerType: cancellation?.canceler_type ?? null,
    cancelReason: cancellation?.reason ?? null,
    rescheduled: invitee.rescheduled,
    oldInviteeUri: invitee.old_invitee,
    newInviteeUri: invitee.new_invitee,
    bookedAt: invitee.created_at,
    paymentProvider: invitee.payment?.provider ?? null,
    paymentExternalId: invitee.payment?.external_id ?? null,
    paymentAmount: invitee.payment ? String(invitee.payment.amount) : null,
    paymentCurrency: invitee.payment?.currency ?? null,
    paymentSuccessful: invitee.payment?.successful ?? null,
    calendlyUpdatedAt: latest(invitee.updated_at, event.updated_at),
    organization,
    routingFormSubmissionUri: invitee.routing_form_submission,
    workflowId: meetingWorkflowId(invitee.uri, connectionId),
    lead: leadId,
  };
  // The columns are the entity's: a property added to it must be given a value above, or this does not compile.
  const properties = em.getMetadata(MeetingSchema).props.filter((property) => property.name in values);
  const columns = properties.map((property) => property.fieldNames[0]);
  const placeholders = properties.map((property) => (property.columnTypes[0] === 'jsonb' ? '?::jsonb' : '?'));
  const updates = columns.filter((column) => !SET_ON_INSERT.includes(column)).map((column) => `${column} = excluded.${column}`);
  // No-show columns are set here only for a new row; later changes go through recordNoShowChange, in Calendly's order.
  const [row] = await em.execute<Record<string, unknown>[]>(
    `insert into meetings (${columns.join(', ')}, no_show_at, no_show_changed_at)
     values (${placeholders.join(', ')}, ?, ?)
     on conflict (organization, invitee_uri) do update set ${updates.join(', ')}, updated_at = now()
     where meetings.calendly_updated_at <= excluded.calendly_updated_at
     returning *`,
    [
      ...properties.map((property) => values[property.name as keyof BookedMeeting]),
      invitee.no_show?.created_at ?? null,
      invitee.no_show?.created_at ?? null,
    ],
  );
  return row && em.map(MeetingSchema, row);
}

/** The meeting a no-show change applied to; undefined when there is no such meeting or a newer change came first. */
export interface AppliedNoShowChange {
  organization: string | null;
  wasNoShow: boolean;
}

export async function recordNoShowChange(
  em: EntityManager,
  organization: string,
  { inviteeUri, noShowAt, occurredAt }: NoShowChange,
): Promise<AppliedNoShowChange | undefined> {
  // Every newer change is recorded, even one that does not flip the state, so that an older one arriving later
  // cannot undo it.
  return queryRow(
    em,
    appliedNoShowRow,
    `with previous as (select id, no_show_at from meetings where organization = ? and invitee_uri = ? for update)
     update meetings set no_show_at = ?, no_show_changed_at = ?, updated_at = now()
     from previous
     where meetings.id = previous.id and (meetings.no_show_changed_at is null or meetings.no_show_changed_at <= ?)
     returning meetings.organization, previous.no_show_at is not null as was_no_show`,
    [organization, inviteeUri, noShowAt, occurredAt, occurredAt],
  );
}

/**
 * An `invitee.canceled` delivery that failed for good (e.g. Calendly deleted the event: 404) still says the invitee
 * canceled: the meeting is marked canceled from what is known (when, and why it could not be read), with its
 * `meeting.canceled` outbox event, so that its reminders stop. Calendly's updated_at is left as it was, so a later
 * successful read (e.g. a reschedule) still applies. Returns false when the organization holds no meeting for the
 * invitee.
 */
export async function cancelMeetingFromFailedDelivery(
  em: EntityManager,
  organization: string,
  inviteeUri: string,
  canceledAt: string,
  reason: string,
): Promise<boolean> {
  return em.transactional(async (tx) => {
    const before = await lockMeetingState(tx, organization, inviteeUri);
    if (!before) return false;
    if (before.status !== 'active') return true;
    await tx.execute(
      `update meetings set status = 'canceled', canceled_at = coalesce(canceled_at, ?), cancel_reason = coalesce(cancel_reason, ?), updated_at = now()
       where id = ? and organization = ?`,
      [canceledAt, reason, before.id, organization],
    );
    const meeting = await tx.findOneOrFail(MeetingSchema, { id: before.id }, { populate: ['lead'], refresh: true });
    await recordEvent(tx, { type: 'meeting.canceled', organization: meeting.organization, payload: { meeting: meetingView(meeting) } });
    return true;
  });
}

export interface MeetingToRemind {
  /** what its reminder workflow is told */
  meeting: MeetingSnapshot;
  workflowId: string;
}

/** The organization's meeting as its reminder workflow is told it; undefined when it is not stored. */
export async function meetingSnapshot(em: EntityManager, organization: string, inviteeUri: string): Promise<MeetingToRemind | undefined> {
  const row = await queryRow(
    em,
    snapshotRow,
    `select m.id, m.status, m.start_time, m.workflow_id, l.email from meetings m join leads l on l.id = m.lead_id
     where m.organization = ? and m.invitee_uri = ?`,
    [organization, inviteeUri],
  );
  if (!row) return undefined;
  const meeting: MeetingSnapshot = {
    meetingId: row.id,
    inviteeUri,
    inviteeEmail: emailKeyOf(row.email),
    eventUuid: uuidOf(inviteeUri.replace(/\/invitees\/[^/]+$/, '')),
    status: row.status,
    startTime: row.startTime.toISOString(),
  };
  return { meeting, workflowId: workflowIdOf({ inviteeUri, workflowId: row.workflowId }) };
}

export interface MeetingFilter {
  organization?: string;
  /** the lead's email, whatever its case */
  email?: string;
  status?: MeetingStatus;
  /** true: only meetings marked as a no-show; false: only those not marked */
  noShow?: boolean;
  /** start time at or after */
  startFrom?: Date;
  /** start time before */
  startTo?: Date;
  limit: number;
  offset: number;
}

/** A page of meetings with their leads, in start order, with the total over all pages. */
export async function listMeetings(em: EntityManager, filter: MeetingFilter): Promise<[Meeting[], number]> {
  const { organization, email, status, noShow, startFrom, startTo, limit, offset } = filter;
  const where: FilterQuery<Meeting> = {
    ...(organization ? { organization } : {}),
    ...(email ? { lead: { emailKey: emailKeyOf(email) } } : {}),
    ...(status ? { status } : {}),
    ...(noShow !== undefined ? { noShowAt: noShow ? { $ne: null } : null } : {}),
    ...(startFrom || startTo ? { startTime: { ...(startFrom ? { $gte: startFrom } : {}), ...(startTo ? { $lt: startTo } : {}) } } : {}),
  };
  return em.findAndCount(MeetingSchema, where, { limit, offset, orderBy: { startTime: 'asc', id: 'asc' }, populate: ['lead'] });
}

export interface MeetingCounts {
  /** every meeting ever booked, whatever became of it */
  booked: number;
  canceled: number;
  rescheduled: number;
  noShow: number;
}

/** Over all organizations when `organization` is undefined. */
export async function meetingCounts(em: EntityManager, organization: string | undefined): Promise<MeetingCounts> {
  const [counts] = await queryRows(
    em,
    countsRow,
    `select count(*)::int as booked,
            count(*) filter (where status = 'canceled')::int as canceled,
            count(*) filter (where status = 'rescheduled')::int as rescheduled,
            count(*) filter (where no_show_at is not null)::int as no_show
     from meetings where (?::text is null or organization = ?)`,
    [organization ?? null, organization ?? null],
  );
  return counts;
}

/** Active meetings that have not ended by `now`, soonest first, with their leads; all organizations when undefined. */
export async function upcomingMeetings(em: EntityManager, organization: string | undefined, now: Date, limit: number): Promise<Meeting[]> {
  return em.find(
    MeetingSchema,
    { status: 'active', endTime: { $gt: now }, ...(organization ? { organization } : {}) },
    { orderBy: { startTime: 'asc', id: 'asc' }, limit, populate: ['lead'] },
  );
}

function latest(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
