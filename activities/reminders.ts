/** Reminders: plan them, send each once, cancel the rest, and keep each meeting's workflow told of its changes. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure, log } from '@temporalio/activity';
import { meetingSnapshot } from '../src/database/meetings';
import {
  cancelScheduledReminders,
  fireReminder,
  markOutboundDelivered,
  markOutboundFailed,
  outboundDelivered,
  planReminders,
  reminderNotice,
} from '../src/database/reminders';
import {
  CALENDLY_CONNECTION,
  EVENT_UUID,
  INVITEE_EMAIL,
  meetingChanged,
  MEETING_START,
  MEETING_STATUS,
  type Activities,
  type KeptMeeting,
  type MeetingRemindersInput,
  type MeetingSnapshot,
  type PlannedReminder,
  type ReminderState,
} from '../src/contract';
import { isAlreadyStarted } from '../src/temporal/already-started';
import { keepMeetingReminders } from '../workflows';
import { organizationLabel } from '../src/metrics';
import type { CalendlyAccounts } from './calendly-accounts';
import { withActivityFailures } from './calendly';
import { reminderLateness, remindersSent, reminderWebhookFailures } from './metrics';
import { DestinationRefused, type OutboundDestinations } from '../src/outbound-destinations';
import { isPermanentRefusal, postSigned } from './signed-post';
import { recordedConnectionId } from '../src/workflow-ids';

export interface ReminderSettings {
  offsetsSeconds: number[];
  webhook?: { url: string; secret: string };
}

const REMINDER_SIGNATURE_HEADER = 'reminder-signature';

/**
 * Starts the meeting's workflow with `input`, or signals the running one the meeting as it is now. A finished
 * workflow (all reminders done, or the meeting canceled) is left finished. Used by the deliveries of the shape before
 * December 2026 (syncMeetingReminders), which told each meeting's workflow after processing.
 */
export async function tellMeetingWorkflow(
  temporal: Client,
  taskQueue: string,
  input: MeetingRemindersInput & { meeting: MeetingSnapshot },
  workflowId: string,
  connectionId: string,
): Promise<void> {
  const { meeting } = input;
  try {
    await temporal.workflow.signalWithStart(keepMeetingReminders, {
      workflowId,
      taskQueue,
      args: [input],
      signal: meetingChanged,
      signalArgs: [meeting],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: INVITEE_EMAIL, value: meeting.inviteeEmail },
        { key: EVENT_UUID, value: meeting.eventUuid },
        { key: MEETING_START, value: new Date(meeting.startTime) },
        { key: MEETING_STATUS, value: meeting.status },
        { key: CALENDLY_CONNECTION, value: connectionId },
      ],
    });
  } catch (error) {
    if (!isAlreadyStarted(error)) throw error;
    log.info('Meeting workflow already finished; nothing left to remind', { inviteeUri: meeting.inviteeUri });
  }
}

/** Signals the meeting's workflow the meeting as stored, when one runs; nothing when none does. */
async function tellRunningMeetingWorkflow(temporal: Client, workflowId: string, meeting: MeetingSnapshot): Promise<void> {
  try {
    await temporal.workflow.getHandle(workflowId).signal(meetingChanged, meeting);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

const isNotFound = (error: unknown) => error instanceof WorkflowNotFoundError || (error as Error).name === 'WorkflowNotFoundError';

/** Reads the meetings a processed delivery stored, for the meeting's workflow that processed it. */
export interface MeetingsAfterDelivery {
  /**
   * The meeting of `inviteeUri` for the workflow `workflowId` to keep (its reminders planned while it is active), or
   * null when that workflow does not keep it (none stored, or one stored before workflow IDs had their connection).
   * Each of `others` (the other side of a reschedule) is told to its own workflow, when one runs: the meeting's own
   * delivery starts it otherwise.
   */
  keptMeeting(inviteeUri: string, others: string[], connectionId: string, workflowId: string): Promise<KeptMeeting | null>;
}

export function createMeetingsAfterDelivery(orm: MikroORM, accounts: CalendlyAccounts, temporal: Client, settings: ReminderSettings): MeetingsAfterDelivery {
  return {
    async keptMeeting(inviteeUri: string, others: string[], recordedId: string, workflowId: string): Promise<KeptMeeting | null> {
      const em = orm.em.fork();
      const organization = await withActivityFailures(() => accounts.organizationOfConnection(recordedConnectionId(recordedId)));
      for (const other of others) {
        const stored = await meetingSnapshot(em, organization, other);
        if (stored && stored.workflowId !== workflowId) await tellRunningMeetingWorkflow(temporal, stored.workflowId, stored.meeting);
      }
      const stored = await meetingSnapshot(em, organization, inviteeUri);
      if (!stored) return null;
      if (stored.workflowId !== workflowId) {
        await tellRunningMeetingWorkflow(temporal, stored.workflowId, stored.meeting);
        return null;
      }
      const { meeting } = stored;
      const reminders = meeting.status === 'active' ? await planReminders(em, meeting.meetingId, settings.offsetsSeconds, new Date()) : null;
      return { meeting, reminders, sendOutbound: Boolean(settings.webhook) };
    }
  };
}

export function createReminderActivities(
  orm: MikroORM,
  accounts: CalendlyAccounts,
  temporal: Client,
  taskQueue: string,
  settings: ReminderSettings,
  destinations: OutboundDestinations,
): Pick<Activities, 'syncMeetingReminders' | 'planReminders' | 'sendReminder' | 'cancelReminders' | 'deliverReminderWebhook'> {
  return {
    /**
     * Tells the meeting's workflow of the meeting as stored. A new workflow starts with its reminders planned here
     * (idempotent rows), so that its first task only sets its timer: no activity of its own. It is found in the Web
     * UI by its connection too (`CalendlyConnection`), as the connection's deliveries are. The meeting is the one of
     * the connection's organization: another organization's meeting of the same invitee is never told.
     */
    async syncMeetingReminders(inviteeUri: string, recordedId: string): Promise<void> {
      const em = orm.em.fork();
      const connectionId = recordedConnectionId(recordedId);
      const organization = await withActivityFailures(() => accounts.organizationOfConnection(connectionId));
      const stored = await meetingSnapshot(em, organization, inviteeUri);
      if (!stored) throw new Error(`no meeting for ${inviteeUri}`);
      const { meeting, workflowId } = stored;
      const { offsetsSeconds } = settings;
      const reminders = meeting.status === 'active' ? await planReminders(em, meeting.meetingId, offsetsSeconds, new Date()) : undefined;
      await tellMeetingWorkflow(temporal, taskQueue, { meeting, offsetsSeconds, reminders, sendOutbound: Boolean(settings.webhook) }, workflowId, connectionId);
    },

    async planReminders(meetingId: string, offsetsSeconds: number[]): Promise<PlannedReminder[]> {
      return planReminders(orm.em.fork(), meetingId, offsetsSeconds, new Date());
    },

    async sendReminder(reminderId: string): Promise<ReminderState> {
      const em = orm.em.fork();
      const now = new Date();
      const state = await fireReminder(em, reminderId, now);
      if (state === 'sent') {
        // Counted only by the attempt that sent it: a retry finds it sent already, at another attempt's time. The
        // reminder is sent whatever happens here, so a failed look-up costs a sample, never a retry.
        try {
          const { reminder, meeting } = await reminderNotice(em, reminderId);
          if (reminder.sentAt instanceof Date && reminder.sentAt.getTime() === now.getTime()) {
            const organization = organizationLabel(meeting.organization);
            remindersSent.inc({ organization });
            reminderLateness.observe({ organization }, Math.max(0, (now.getTime() - reminder.fireAt.getTime()) / 1000));
          }
        } catch (error) {
          log.warn('Could not read the sent reminder for its metrics', { reminderId, error: (error as Error).name });
        }
      }
      return state;
    },

    async cancelReminders(meetingId: string): Promise<number> {
      return cancelScheduledReminders(orm.em.fork(), meetingId);
    },

    /**
     * POSTs a sent reminder to the reminder webhook, signed like Calendly signs its webhooks
     * (`Reminder-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), with the reminder's id as
     * Idempotency-Key. Retried until the endpoint answers 2xx, while it answers 5xx, 408 or 429 or cannot be reached;
     * any other 4xx says this request will never be accepted: it is recorded on the reminder (outbound_failed_at,
     * outbound_failure), counted, and not retried; so is a URL that is not (or no longer) a public address.
     */
    async deliverReminderWebhook(reminderId: string): Promise<void> {
      const { webhook } = settings;
      const em = orm.em.fork();
      if (!webhook || (await outboundDelivered(em, reminderId))) return;
      const notice = await reminderNotice(em, reminderId);
      const body = JSON.stringify({ type: 'reminder.sent', ...notice });
      const { organization } = notice.meeting;
      const failForGood = async (failure: string, status: string): Promise<never> => {
        await markOutboundFailed(em, reminderId, failure);
        reminderWebhookFailures.inc({ status, organization: organizationLabel(organization) });
        log.warn('Reminder webhook refused the reminder; it is not sent again', { reminderId, organization, failure });
        throw ApplicationFailure.nonRetryable(failure, 'ReminderWebhookRejected');
      };
      let response: { status: number };
      try {
        response = await postSigned(destinations, { url: webhook.url, body, secret: webhook.secret, signatureHeader: REMINDER_SIGNATURE_HEADER, idempotencyKey: reminderId });
      } catch (error) {
        if (error instanceof DestinationRefused) return failForGood(`reminder webhook refused: ${error.code}`, 'refused');
        throw error;
      }
      if (isPermanentRefusal(response.status)) return failForGood(`reminder webhook answered ${response.status}`, String(response.status));
      if (response.status < 200 || response.status >= 300) throw new Error(`reminder webhook answered ${response.status}`);
      await markOutboundDelivered(em, reminderId);
    },
  };
}
