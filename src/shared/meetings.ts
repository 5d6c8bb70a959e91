/** What the meeting workflow knows about a meeting and its reminders; shared by workflows and activities. */

export type MeetingStatus = 'active' | 'canceled' | 'rescheduled';

/** See src/database/entities/reminder.ts for what each state means. */
export type ReminderState = 'scheduled' | 'sent' | 'canceled' | 'skipped';

/** The meeting as stored, sent to its workflow after every change. */
export interface MeetingSnapshot {
  meetingId: string;
  inviteeUri: string;
  inviteeEmail: string;
  eventUuid: string;
  status: MeetingStatus;
  startTime: string;
}

export interface PlannedReminder {
  reminderId: string;
  offsetSeconds: number;
  fireAt: string;
  state: ReminderState;
}

export interface MeetingRemindersInput {
  meeting: MeetingSnapshot;
  offsetsSeconds: number[];
  /** also POST each reminder to the configured reminder webhook */
  sendOutbound: boolean;
  /** carried over by continue-as-new */
  reminders?: PlannedReminder[];
  undeliveredOutbound?: string[];
  /** continue as new past this many history events (the server's own suggestion also counts) */
  maxHistoryEvents?: number;
}

/** Returned by the workflow's `plan` query and as its result. */
export interface MeetingPlan {
  status: MeetingStatus;
  startTime: string;
  nextReminder: PlannedReminder | null;
  reminders: PlannedReminder[];
}
