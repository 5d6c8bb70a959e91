/** Workflow IDs a person can type into the Web UI search, built from Calendly's identifiers. */
import { uuidOf } from './calendly/schemas';

/** The long-lived workflow that keeps one meeting's reminders: `calendly-meeting-<event uuid>-<invitee uuid>`. */
export function meetingWorkflowId(inviteeUri: string): string {
  const segments = new URL(inviteeUri).pathname.split('/').filter(Boolean);
  return `calendly-meeting-${segments.at(-3)}-${uuidOf(inviteeUri)}`;
}
