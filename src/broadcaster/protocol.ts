/**
 * Every message the websocket sends, typed for the broadcaster that sends them and for clients (the dashboard's
 * live client, src/receiver/dashboard/live-client.ts); docs/websocket.md documents them. An event's
 * `data` is its outbox payload, in the shapes src/database writes (views.ts for leads and meetings, reminders.ts for a
 * sent reminder), as JSON: dates are ISO 8601 strings.
 */
import type { EventType } from '../database/entities/outbox-event';
import type { reminderNotice } from '../database/reminders';
import type { routingFormSubmissionView } from '../database/routing-form-submissions';
import type { leadView, meetingView } from '../database/views';

export const WEBSOCKET_PATH = '/ws';
/** Where a client buys the single-use ticket it opens the websocket with (`/ws?ticket=…`), with its API token. */
export const WEBSOCKET_TICKET_PATH = '/api/ws-ticket';

/** A value as it arrives over JSON: dates become ISO 8601 strings. */
export type Json<T> = T extends Date ? string : T extends readonly (infer Item)[] ? Json<Item>[] : T extends object ? { [Key in keyof T]: Json<T[Key]> } : T;

/** A lead as in GET /api/leads. */
export type LeadData = Json<ReturnType<typeof leadView>>;
/** A meeting as in GET /api/meetings. */
export type MeetingData = Json<ReturnType<typeof meetingView>>;

/** Compiles only when every outbox event type has its `data` shape. */
type EveryEventType<Shapes extends Record<EventType, object>> = Shapes;

/** What `data` holds, per event type. */
export type EventData = EveryEventType<{
  'lead.created': { lead: LeadData };
  'lead.updated': { lead: LeadData };
  'lead.form_submitted': { lead: LeadData; submission: Json<ReturnType<typeof routingFormSubmissionView>> };
  'meeting.created': { meeting: MeetingData };
  'meeting.canceled': { meeting: MeetingData };
  'meeting.rescheduled': { meeting: MeetingData };
  'meeting.no_show': { meeting: MeetingData };
  'meeting.no_show_removed': { meeting: MeetingData };
  /** `reminder.sentAt` is set: the reminder was sent in the transaction that wrote this event */
  'reminder.sent': Json<Awaited<ReturnType<typeof reminderNotice>>>;
}>;

/** Sent once, first: events with ids after `lastEventId` follow, in id order. */
export interface WelcomeMessage {
  type: 'welcome';
  lastEventId: string;
  /** the organization the token is bound to: only its events are sent; null = all events */
  organization: string | null;
}

/** One outbox event; `type` tells the shape of `data`. Ids are decimal strings (64-bit integers), increasing. */
export type EventMessage = {
  [Type in EventType]: { id: string; type: Type; occurredAt: string; organization: string | null; data: EventData[Type] };
}[EventType];

/** Any message of the websocket. */
export type ServerMessage = WelcomeMessage | EventMessage;

/** An outbox event on its way to clients, serialized once for all of them. */
export interface BroadcastEvent {
  id: bigint;
  organization: string | null;
  message: string;
  /** when its transaction wrote it to the outbox */
  createdAt: Date;
}

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** The connection's API token was revoked: connect again with a valid one. */
export const CLOSE_TOKEN_REVOKED = 4401;
