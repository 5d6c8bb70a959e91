/** The JSON shape of leads and meetings, shared by the read API and the outbox events frontends receive. */
import { meetingWorkflowId, PERSONAL_TOKEN_CONNECTION_ID } from '../workflow-ids';
import type { Lead } from './entities/lead';
import type { Meeting } from './entities/meeting';

export function leadView(lead: Lead) {
  return {
    id: lead.id,
    email: lead.email,
    name: lead.name,
    firstName: lead.firstName,
    lastName: lead.lastName,
    timezone: lead.timezone,
    phone: lead.phone,
    firstSeenAt: lead.firstSeenAt,
    lastSeenAt: lead.lastSeenAt,
  };
}

/** The ID of the meeting's reminder workflow: stored with it, or for meetings that have none the unprefixed one. */
export function workflowIdOf(meeting: Pick<Meeting, 'inviteeUri' | 'workflowId'>): string {
  return meeting.workflowId ?? meetingWorkflowId(meeting.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID);
}

export function meetingView(meeting: Meeting) {
  return {
    id: meeting.id,
    inviteeUri: meeting.inviteeUri,
    scheduledEventUri: meeting.scheduledEventUri,
    eventTypeUri: meeting.eventTypeUri,
    name: meeting.name,
    startTime: meeting.startTime,
    endTime: meeting.endTime,
    location: meeting.location,
    status: meeting.status,
    host: { name: meeting.hostName, email: meeting.hostEmail, uri: meeting.hostUri },
    answers: meeting.answers,
    tracking: meeting.tracking,
    cancelUrl: meeting.cancelUrl,
    rescheduleUrl: meeting.rescheduleUrl,
    cancellation: meeting.canceledAt
      ? { canceledAt: meeting.canceledAt, canceledBy: meeting.canceledBy, cancelerType: meeting.cancelerType, reason: meeting.cancelReason }
      : null,
    rescheduled: meeting.rescheduled,
    oldInviteeUri: meeting.oldInviteeUri,
    newInviteeUri: meeting.newInviteeUri,
    noShowAt: meeting.noShowAt,
    bookedAt: meeting.bookedAt,
    payment:
      meeting.paymentAmount !== null && meeting.paymentCurrency !== null && meeting.paymentSuccessful !== null
        ? {
            provider: meeting.paymentProvider,
            externalId: meeting.paymentExternalId,
            amount: Number(meeting.paymentAmount),
            currency: meeting.paymentCurrency,
            successful: meeting.paymentSuccessful,
          }
        : null,
    organization: meeting.organization,
    workflowId: workflowIdOf(meeting),
    lead: { id: meeting.lead.id, email: meeting.lead.email, name: meeting.lead.name },
  };
}
