/**
 * What the dashboard shows, read in one go: meeting counts, the business counters of a few periods, upcoming meetings
 * with their next reminder, and the latest webhook deliveries, each with a link to its workflow in the Temporal Web UI.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import type { DeliveryOutcome } from '../../database/entities/webhook-delivery';
import { businessCounters, type BusinessCounters } from '../../database/business-counters';
import { recentDeliveries } from '../../database/deliveries';
import { meetingCounts, upcomingMeetings } from '../../database/meetings';
import { failedReminderDeliveries, nextScheduledReminders, type FailedReminderDelivery } from '../../database/reminders';
import { workflowIdOf } from '../../database/views';
import { workflowUrl } from '../../temporal/web-ui-links';

const UPCOMING_LIMIT = 20;
const DELIVERIES_LIMIT = 20;
const FAILED_REMINDERS_LIMIT = 20;

export interface Dashboard {
  organization: string | null;
  counts: { booked: number; canceled: number; rescheduled: number; noShow: number };
  business: BusinessCounters;
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
  /** the organization's own deliveries for a bound token (its connection's, test webhooks included), else all */
  recentDeliveries: {
    id: string;
    receivedAt: Date;
    eventType: string | null;
    outcome: DeliveryOutcome;
    detail: string | null;
    /** what an invitee delivery was about: with the detail, what made a failed one fail */
    inviteeUri: string | null;
    scheduledEventUri: string | null;
    workflowId: string | null;
    workflowUrl: string | null;
  }[];
  /** reminders the reminder webhook refused for good (a 4xx), latest first: they are not sent again */
  failedReminderWebhooks: FailedReminderDelivery[];
}

/** Where the business counters' days start, and the chosen period if any. */
export interface BusinessPeriods {
  timezone: string;
  range?: { from: Date; to: Date };
}

/** `organization`: only that organization's meetings and deliveries. */
export async function readDashboard(
  em: EntityManager,
  config: Pick<Config, 'temporal' | 'revenue'>,
  organization: string | undefined,
  periods: BusinessPeriods,
): Promise<Dashboard> {
  const { temporal } = config;
  const counts = await meetingCounts(em, organization);
  const business = await businessCounters(em, { organization, ...periods, now: new Date(), revenue: config.revenue });
  const meetings = await upcomingMeetings(em, organization, new Date(), UPCOMING_LIMIT);
  const nextReminders = await nextScheduledReminders(em, meetings.map((meeting) => meeting.id));
  const deliveries = await recentDeliveries(em, DELIVERIES_LIMIT, organization);
  const failedReminderWebhooks = await failedReminderDeliveries(em, organization, FAILED_REMINDERS_LIMIT);

  return {
    organization: organization ?? null,
    counts,
    business,
    upcomingMeetings: meetings.map((meeting) => {
      const workflowId = workflowIdOf(meeting);
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
    recentDeliveries: deliveries.map((delivery) => ({
      id: delivery.id,
      receivedAt: delivery.receivedAt,
      eventType: delivery.eventType,
      outcome: delivery.outcome,
      detail: delivery.detail,
      inviteeUri: delivery.inviteeUri,
      scheduledEventUri: delivery.scheduledEventUri,
      workflowId: delivery.workflowId,
      workflowUrl: delivery.workflowId ? workflowUrl(temporal, delivery.workflowId) : null,
    })),
    failedReminderWebhooks,
  };
}
