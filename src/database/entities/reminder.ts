import { EntitySchema } from '@mikro-orm/core';
import type { ReminderState } from '../../contract';
import type { Meeting } from './meeting';

/**
 * Reminder states:
 * - scheduled: its durable timer is running in the meeting's workflow
 * - sent: fired once (the transition is made once, in the same transaction as its outbox event)
 * - canceled: the meeting was canceled or rescheduled first
 * - skipped: its time had passed when the meeting was booked (or before the meeting began); never sent late
 */
export type { ReminderState };

/** One reminder before one meeting, e.g. 24 h before its start. */
export interface Reminder {
  id: string;
  meeting: Meeting;
  /** how long before the meeting's start, in seconds */
  offsetSeconds: number;
  /** start time minus offset, in UTC */
  fireAt: Date;
  state: ReminderState;
  sentAt: Date | null;
  canceledAt: Date | null;
  skippedAt: Date | null;
  /** when the outbound reminder webhook (if configured) was accepted by its endpoint */
  outboundDeliveredAt: Date | null;
  /** when the reminder webhook refused it for good (a 4xx other than 408/429): it is not sent again */
  outboundFailedAt: Date | null;
  /** why, e.g. `reminder webhook answered 404` */
  outboundFailure: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const timestamptz = { type: 'datetime', columnType: 'timestamptz' } as const;

export const ReminderSchema = new EntitySchema<Reminder>({
  name: 'Reminder',
  tableName: 'reminders',
  uniques: [{ name: 'reminders_meeting_offset_unique', properties: ['meeting', 'offsetSeconds'] }],
  indexes: [{ properties: ['state', 'fireAt'] }],
  properties: {
    id: { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' },
    meeting: { kind: 'm:1', entity: 'Meeting' },
    offsetSeconds: { type: 'integer' },
    fireAt: timestamptz,
    state: { type: 'text' },
    sentAt: { ...timestamptz, nullable: true },
    canceledAt: { ...timestamptz, nullable: true },
    skippedAt: { ...timestamptz, nullable: true },
    outboundDeliveredAt: { ...timestamptz, nullable: true },
    outboundFailedAt: { ...timestamptz, nullable: true },
    outboundFailure: { type: 'text', nullable: true },
    createdAt: { ...timestamptz, defaultRaw: 'now()' },
    updatedAt: { ...timestamptz, defaultRaw: 'now()' },
  },
});
