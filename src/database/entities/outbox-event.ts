import { EntitySchema } from '@mikro-orm/core';

export const EVENT_TYPES = [
  'lead.created',
  'lead.updated',
  /** someone submitted a routing form: the organization's lead of its email answer, and the submission */
  'lead.form_submitted',
  'meeting.created',
  'meeting.canceled',
  'meeting.rescheduled',
  'meeting.no_show',
  'meeting.no_show_removed',
  'reminder.sent',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * The outbox: every change frontends hear about, written in the same transaction as the change itself, so nothing
 * is announced before it is committed. The id increases monotonically; a reconnecting client resumes after the
 * last id it saw. Broadcasters are woken by NOTIFY on the `outbox_events` channel (see recordEvent).
 */
export interface OutboxEvent {
  id: string;
  type: EventType;
  /** Calendly organization URI the event belongs to; a client bound to an organization sees only its own */
  organization: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export const OutboxEventSchema = new EntitySchema<OutboxEvent>({
  name: 'OutboxEvent',
  tableName: 'outbox_events',
  indexes: [{ properties: ['organization', 'id'] }, { properties: ['createdAt'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    type: { type: 'text' },
    organization: { type: 'text', nullable: true },
    payload: { type: 'json' },
    createdAt: { type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' },
  },
});
