import { EntitySchema } from '@mikro-orm/core';
import type { Location, QuestionAndAnswer, Tracking } from '../../calendly/schemas';
import type { Lead } from './lead';

import type { MeetingStatus } from '../../contract';

/** rescheduled: canceled by a reschedule; newInviteeUri names the meeting that replaces it */
export type { MeetingStatus };

/** One invitee's place in one scheduled Calendly event (a group event has one meeting per invitee). */
export interface Meeting {
  id: string;
  /** Calendly's invitee URI: one meeting per organization holding it */
  inviteeUri: string;
  scheduledEventUri: string;
  eventTypeUri: string;
  name: string | null;
  startTime: Date;
  endTime: Date;
  location: Location;
  status: MeetingStatus;
  hostName: string | null;
  hostEmail: string | null;
  hostUri: string | null;
  answers: QuestionAndAnswer[];
  tracking: Tracking;
  cancelUrl: string;
  rescheduleUrl: string;
  canceledAt: Date | null;
  canceledBy: string | null;
  cancelerType: string | null;
  cancelReason: string | null;
  rescheduled: boolean;
  oldInviteeUri: string | null;
  newInviteeUri: string | null;
  /** set while Calendly has the invitee marked as a no-show */
  noShowAt: Date | null;
  /** when the latest no-show mark or unmark happened in Calendly: an older one arriving late is ignored */
  noShowChangedAt: Date | null;
  bookedAt: Date;
  /** the invitee's Calendly payment, null without one; `paymentAmount` is a numeric, as text (exact) */
  paymentProvider: string | null;
  paymentExternalId: string | null;
  paymentAmount: string | null;
  paymentCurrency: string | null;
  paymentSuccessful: boolean | null;
  /** Calendly's latest updated_at of invitee and event: an older read never overwrites a newer one */
  calendlyUpdatedAt: Date;
  /** the organization of ours it belongs to; with inviteeUri, the identity of a meeting (never changed once stored) */
  organization: string | null;
  /** the routing form submission that led to this booking (the invitee's `routing_form_submission`) */
  routingFormSubmissionUri: string | null;
  /** its reminders' workflow ID; null for meetings stored before connections existed: the unprefixed one (see meetingWorkflowId) */
  workflowId: string | null;
  lead: Lead;
  createdAt: Date;
  updatedAt: Date;
}

const timestamptz = { type: 'datetime', columnType: 'timestamptz' } as const;
const nullableText = { type: 'text', nullable: true } as const;

export const MeetingSchema = new EntitySchema<Meeting>({
  name: 'Meeting',
  tableName: 'meetings',
  // Another organization may hold the same invitee URI (e.g. the same Calendly organization connected after another
  // let it go): each has its own meeting.
  uniques: [{ name: 'meetings_organization_invitee_uri_unique', properties: ['organization', 'inviteeUri'] }],
  indexes: [
    { properties: ['startTime'] },
    { properties: ['status', 'startTime'] },
    { properties: ['organization', 'lead'] },
    // the business counters (business-counters.ts) read an organization's meetings by each of these times
    { properties: ['organization', 'bookedAt'] },
    { properties: ['organization', 'canceledAt'] },
    { properties: ['organization', 'startTime'] },
    // a routing form submission finds the meeting it led to (partial: only meetings that came from a form)
    { name: 'meetings_organization_routing_form_submission_uri_index', expression: 'create index "meetings_organization_routing_form_submission_uri_index" on "meetings" ("organization", "routing_form_submission_uri") where "routing_form_submission_uri" is not null' },
  ],
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    inviteeUri: { type: 'text' },
    scheduledEventUri: { type: 'text', index: true },
    eventTypeUri: { type: 'text' },
    name: nullableText,
    startTime: timestamptz,
    endTime: timestamptz,
    location: { type: 'json' },
    status: { type: 'text' },
    hostName: nullableText,
    hostEmail: nullableText,
    hostUri: nullableText,
    answers: { type: 'json' },
    tracking: { type: 'json' },
    cancelUrl: { type: 'text' },
    rescheduleUrl: { type: 'text' },
    canceledAt: { ...timestamptz, nullable: true },
    canceledBy: nullableText,
    cancelerType: nullableText,
    cancelReason: nullableText,
    rescheduled: { type: 'boolean', default: false },
    oldInviteeUri: nullableText,
    newInviteeUri: nullableText,
    noShowAt: { ...timestamptz, nullable: true },
    noShowChangedAt: { ...timestamptz, nullable: true },
    bookedAt: timestamptz,
    paymentProvider: nullableText,
    paymentExternalId: nullableText,
    paymentAmount: { type: 'decimal', columnType: 'numeric', nullable: true },
    paymentCurrency: nullableText,
    paymentSuccessful: { type: 'boolean', nullable: true },
    calendlyUpdatedAt: timestamptz,
    organization: { ...nullableText, index: true },
    routingFormSubmissionUri: nullableText,
    workflowId: nullableText,
    lead: { kind: 'm:1', entity: 'Lead', index: true },
    createdAt: { ...timestamptz, defaultRaw: 'now()' },
    updatedAt: { ...timestamptz, defaultRaw: 'now()' },
  },
});
