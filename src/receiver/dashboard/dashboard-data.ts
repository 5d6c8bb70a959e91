/**
 * What the dashboard shows, read in one go: meeting counts, upcoming meetings with their next reminder, and the
 * latest webhook deliveries, each with a link to its workflow in the Temporal Web UI.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { MeetingSchema } from '../../database/entities/meeting';
import { ReminderSchema, type Reminder } from '../../database/entities/reminder';
import { WebhookDeliverySchema, type DeliveryOutcome } from '../../database/entities/webhook-delivery';
import { meetingWorkflowId } from '../../workflow-ids';
import { workflowUrl } from '../../temporal/web-ui-links';

const UPCOMING_LIMIT = 20;
const DELIVERIES_LIMIT = 20;

export interface Dashboard {
  organization: string | null;
  counts: { booked: number; canceled: number; rescheduled: number; noShow: number };
  upcomingMeetings: {
    id: string;
    name: string | null;
    startTime: Date;
    endTime: Date;
    invitee: { name: string; email: string };
    nextReminder: { fireAt: Date; offsetSeconds: number } | null;
    workflowId: string;
    workflowUrl: string;
  }[];
  /** null for a token bound to an organization: the delivery log is not kept per organization */
  recentDeliveries:
    | {
        id: string;
        receivedAt: Date;
        eventType: string | null;
        outcome: DeliveryOutcome;
        detail: string | null;
        workflowId: string | null;
        workflowUrl: string | null;
      }[]
    | null;
}

/** `organization`: only that organization's meetings, and no delivery log. */
export async function readDashboard(em: EntityManager, temporal: Config['temporal'], organization: string | undefined): Promise<Dashboard> {
  const inOrganization = organization ? { organization } : {};
  const [counts] = await em.execute<{ booked: number; canceled: number; rescheduled: number; no_show: number }[]>(
    `select count(*)::int as booked,
            count(*) filter (where status = 'canceled')::int as canceled,
            count(*) filter (where status = 'rescheduled')::int as rescheduled,
            count(*) filter (where no_show_at is not null)::int as no_show
     from meetings where (?::text is null or organization = ?)`,
    [organization ?? null, organization ?? null],
  );
  const meetings = await em.find(
    MeetingSchema,
    { status: 'active', endTime: { $gt: new Date() }, ...inOrganization },
    { orderBy: { startTime: 'asc', id: 'asc' }, limit: UPCOMING_LIMIT, populate: ['lead'] },
  );
  const nextReminders = new Map<string, Reminder>();
  const scheduled = await em.find(ReminderSchema, { meeting: { $in: meetings.map((meeting) => meeting.id) }, state: 'scheduled' }, { orderBy: { fireAt: 'asc' } });
  for (const reminder of scheduled) if (!nextReminders.has(reminder.meeting.id)) nextReminders.set(reminder.meeting.id, reminder);
  const deliveries = organization
    ? null
    : await em.find(WebhookDeliverySchema, {}, { orderBy: { receivedAt: 'desc', id: 'asc' }, limit: DELIVERIES_LIMIT });

  return {
    organization: organization ?? null,
    counts: { booked: counts.booked, canceled: counts.canceled, rescheduled: counts.rescheduled, noShow: counts.no_show },
    upcomingMeetings: meetings.map((meeting) => {
      const workflowId = meetingWorkflowId(meeting.inviteeUri);
      const reminder = nextReminders.get(meeting.id);
      return {
        id: meeting.id,
        name: meeting.name,
        startTime: meeting.startTime,
        endTime: meeting.endTime,
        invitee: { name: meeting.lead.name, email: meeting.lead.email },
        nextReminder: reminder ? { fireAt: reminder.fireAt, offsetSeconds: reminder.offsetSeconds } : null,
        workflowId,
        workflowUrl: workflowUrl(temporal, workflowId),
      };
    }),
    recentDeliveries:
      deliveries?.map((delivery) => ({
        id: delivery.id,
        receivedAt: delivery.receivedAt,
        eventType: delivery.eventType,
        outcome: delivery.outcome,
        detail: delivery.detail,
        workflowId: delivery.workflowId,
        workflowUrl: delivery.workflowId ? workflowUrl(temporal, delivery.workflowId) : null,
      })) ?? null,
  };
}
