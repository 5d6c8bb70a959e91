/**
 * The routing_form_submissions table: each organization's routing form submissions, whether or not they led to a
 * booking, and the lead of each one's email answer. A submission led to a booking when Calendly names its submitter
 * (the invitee) or a meeting of the organization names it (the invitee's `routing_form_submission`); the meeting is
 * found by that join, so either may arrive first.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RoutingFormAnswer, RoutingFormSubmission } from '../calendly/schemas';
import type { SavedRoutingFormSubmission } from '../contract';
import { emailKeyOf } from '../emails';
import type { Lead } from './entities/lead';
import { upsertLeadFromForm, type FormLead } from './leads';
import { recordEvents, type NewEvent } from './outbox';
import { integer, nullable, oneOf, queryRow, queryRows, rowShape, text, timestamp, type Column } from './rows';
import { pgText } from './text';
import { leadView } from './views';

const RESULT_TYPES = ['event_type', 'custom_message', 'external_url'] as const;

const answers: Column<RoutingFormAnswer[]> = (value, column) => {
  if (Array.isArray(value)) return value as RoutingFormAnswer[];
  throw new TypeError(`Column ${column} holds ${typeof value}, not a JSON array`);
};
/** Any JSON (the result's value is a URI or a message as Calendly gives it). */
const json: Column<unknown> = (value) => value ?? null;
/** The submission's tracking as Calendly gave it: an object of UTM fields, or null. */
const tracking: Column<RoutingFormSubmission['tracking']> = (value, column) => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'object' && !Array.isArray(value)) return value as RoutingFormSubmission['tracking'];
  throw new TypeError(`Column ${column} holds ${typeof value}, not a JSON object`);
};

/** A stored submission with the meeting it led to (`m`, if any). */
const submissionRow = rowShape({
  id: text,
  organization: text,
  uri: text,
  routingFormUri: text,
  routingFormName: nullable(text),
  questionsAndAnswers: answers,
  tracking,
  resultType: nullable(oneOf(RESULT_TYPES)),
  resultValue: json,
  submitterUri: nullable(text),
  submitterType: nullable(text),
  leadId: nullable(text),
  submittedAt: timestamp,
  createdAt: timestamp,
  meetingId: nullable(text),
});
export type StoredRoutingFormSubmission = ReturnType<typeof submissionRow.read>;

/** The submission's columns, and the organization's meeting it led to: by the meeting's reference, else its submitter. */
const WITH_MEETING = `s.id, s.organization, s.uri, s.routing_form_uri, s.routing_form_name, s.questions_and_answers, s.tracking,
  s.result_type, s.result_value, s.submitter_uri, s.submitter_type, s.lead_id, s.submitted_at, s.created_at,
  (select m.id from meetings m where m.organization = s.organization
     and (m.routing_form_submission_uri = s.uri or (s.submitter_uri is not null and m.invitee_uri = s.submitter_uri))
   order by m.booked_at limit 1) as meeting_id`;

/** The JSON shape of a submission: the read API's and the `lead.form_submitted` event's. */
export function routingFormSubmissionView(submission: StoredRoutingFormSubmission) {
  return {
    id: submission.id,
    uri: submission.uri,
    routingForm: { uri: submission.routingFormUri, name: submission.routingFormName },
    questionsAndAnswers: submission.questionsAndAnswers,
    tracking: submission.tracking,
    result: submission.resultType ? { type: submission.resultType, value: submission.resultValue } : null,
    submitter: submission.submitterUri ? { uri: submission.submitterUri, type: submission.submitterType } : null,
    /** it led to a booking: Calendly names its invitee, or a meeting of ours names it */
    booked: submission.submitterUri !== null || submission.meetingId !== null,
    meetingId: submission.meetingId,
    leadId: submission.leadId,
    submittedAt: submission.submittedAt,
    organization: submission.organization,
  };
}

// A pragmatic address check: something@something.tld, no spaces; Calendly validates email questions itself.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const textOf = (answer: RoutingFormAnswer['answer']): string | null => (typeof answer === 'string' ? answer.trim() : null);

/**
 * The person who filled the form in: the answer that is an email address (one to a question named like "email"
 * first), and the answer to a question named like "name". Null without an email address: no lead.
 */
export function formLeadOf(submission: Pick<RoutingFormSubmission, 'questions_and_answers' | 'created_at'>): FormLead | null {
  const asked = (pattern: RegExp) => submission.questions_and_answers.filter((item) => pattern.test(item.question));
  const emails = [...asked(/e-?mail/i), ...submission.questions_and_answers]
    .map((item) => textOf(item.answer))
    .filter((answer): answer is string => answer !== null && EMAIL.test(answer));
  if (!emails.length) return null;
  const name = asked(/name/i)
    .filter((item) => !/e-?mail/i.test(item.question))
    .map((item) => textOf(item.answer))
    .find((answer) => answer);
  return { email: emails[0], name: name ?? null, submittedAt: submission.created_at };
}

/**
 * Stores the organization's submission and its lead in one transaction, announcing a new submission
 * (`lead.form_submitted`) and a new or changed lead. Idempotent: a submission is one row per organization and URI;
 * a later read adds what Calendly learned since (the submitter once booked), never takes it away.
 */
export async function saveRoutingFormSubmission(
  em: EntityManager,
  submission: RoutingFormSubmission,
  organization: string,
  routingFormName: string | null,
): Promise<SavedRoutingFormSubmission> {
  const formLead = formLeadOf(submission);
  return em.transactional(async (tx) => {
    // The lead's lock is the one saveBookings takes: a booking and a submission of one person are written in turn.
    const keys = [`submission:${organization}:${submission.uri}`, ...(formLead ? [`lead:${organization}:${emailKeyOf(formLead.email)}`] : [])];
    await tx.execute('select pg_advisory_xact_lock(hashtext(key)) from jsonb_array_elements_text(?::jsonb) with ordinality as locks(key, position) order by position', [
      JSON.stringify(keys.sort()),
    ]);
    const leadChange = formLead ? await upsertLeadFromForm(tx, formLead, organization) : undefined;
    const lead: Lead | undefined = leadChange?.lead;
    const [upserted] = await tx.execute<{ id: string; inserted: boolean }[]>(
      `insert into routing_form_submissions (organization, uri, routing_form_uri, routing_form_name, questions_and_answers, tracking,
         result_type, result_value, submitter_uri, submitter_type, lead_id, submitted_at)
       values (?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?::jsonb, ?, ?, ?, ?)
       on conflict (organization, uri) do update set
         routing_form_name = coalesce(excluded.routing_form_name, routing_form_submissions.routing_form_name),
         submitter_uri = coalesce(excluded.submitter_uri, routing_form_submissions.submitter_uri),
         submitter_type = coalesce(excluded.submitter_type, routing_form_submissions.submitter_type),
         lead_id = coalesce(routing_form_submissions.lead_id, excluded.lead_id),
         updated_at = now()
       returning id, (xmax = 0) as inserted`,
      [
        organization,
        submission.uri,
        submission.routing_form,
        pgText(routingFormName),
        JSON.stringify(submission.questions_and_answers),
        JSON.stringify(submission.tracking),
        submission.result?.type ?? null,
        submission.result ? JSON.stringify(submission.result.value ?? null) : null,
        submission.submitter,
        submission.submitter_type,
        lead?.id ?? null,
        submission.created_at,
      ],
    );
    const stored = (await queryRow(tx, submissionRow, `select ${WITH_MEETING} from routing_form_submissions s where s.id = ?`, [upserted.id]))!;
    const events: NewEvent[] = [];
    if (lead && leadChange?.change) {
      events.push({ type: leadChange.change === 'created' ? 'lead.created' : 'lead.updated', organization, payload: { lead: leadView(lead) } });
    }
    // A submission without an email answer is kept (it counts in the booking rate) but is nobody's lead: not announced.
    if (lead && upserted.inserted) {
      events.push({ type: 'lead.form_submitted', organization, payload: { lead: leadView(lead), submission: routingFormSubmissionView(stored) } });
    }
    if (events.length) await recordEvents(tx, events);
    return { submissionId: stored.id, leadId: stored.leadId, meetingId: stored.meetingId, created: upserted.inserted };
  });
}

export interface RoutingFormSubmissionFilter {
  /** only this organization's submissions */
  organization?: string;
  /** only the ones that led to a booking (true) or did not (false), as the view's `booked` */
  booked?: boolean;
  /** only those whose lead has this email address, whatever its case */
  email?: string;
  /** submitted at or after */
  from?: Date;
  /** submitted before */
  to?: Date;
  limit: number;
  offset: number;
}

const totalRow = rowShape({ total: integer });

/** Led to a booking: the view's `booked` (Calendly names its submitter, or a meeting of the organization names it). */
const BOOKED = `(s.submitter_uri is not null or exists (
  select from meetings m where m.organization = s.organization and m.routing_form_submission_uri = s.uri))`;

/** A page of submissions, newest first, with the total over all pages. */
export async function listRoutingFormSubmissions(
  em: EntityManager,
  { organization, booked, email, from, to, limit, offset }: RoutingFormSubmissionFilter,
): Promise<[StoredRoutingFormSubmission[], number]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const where = (condition: string, ...values: unknown[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  if (organization !== undefined) where('s.organization = ?', organization);
  if (booked !== undefined) where(booked ? BOOKED : `not ${BOOKED}`);
  // The lead is the submission's organization's: leads are one per organization and email key.
  if (email !== undefined) where('s.lead_id in (select l.id from leads l where l.organization = s.organization and l.email_key = ?)', emailKeyOf(email));
  if (from !== undefined) where('s.submitted_at >= ?', from);
  if (to !== undefined) where('s.submitted_at < ?', to);
  const filter = conditions.length ? `where ${conditions.join(' and ')}` : '';
  const rows = await queryRows(
    em,
    submissionRow,
    `select ${WITH_MEETING} from routing_form_submissions s ${filter} order by s.submitted_at desc, s.id asc limit ? offset ?`,
    [...params, limit, offset],
  );
  const [{ total }] = await queryRows(em, totalRow, `select count(*)::int as total from routing_form_submissions s ${filter}`, params);
  return [rows, total];
}

/** The booking rate of one period: of its routing form submissions (by when submitted), the share that led to a booking. */
export interface FormFigures {
  formSubmissions: number;
  bookedFromForms: number;
  /** bookedFromForms / formSubmissions; null: no submissions */
  bookingRate: number | null;
}

const formFiguresRow = rowShape({ position: integer, formSubmissions: integer, bookedFromForms: integer });

/** Per period (in the given order), one statement: each period's submissions walk the (organization, submitted_at) index. */
export async function formFiguresOf(em: EntityManager, organization: string | undefined, periods: { from: Date; to: Date }[]): Promise<FormFigures[]> {
  const rows = await queryRows(
    em,
    formFiguresRow,
    `select p.position::int as position,
       count(s.id)::int as form_submissions,
       count(s.id) filter (where s.submitter_uri is not null or exists (
         select from meetings m where m.organization = s.organization and m.routing_form_submission_uri = s.uri))::int as booked_from_forms
     from jsonb_array_elements(?::jsonb) with ordinality as p(period, position)
     left join routing_form_submissions s
       on s.submitted_at >= (p.period->>'from')::timestamptz and s.submitted_at < (p.period->>'to')::timestamptz
       ${organization === undefined ? '' : 'and s.organization = ?'}
     group by p.position order by p.position`,
    [JSON.stringify(periods), ...(organization === undefined ? [] : [organization])],
  );
  return rows.map(({ formSubmissions, bookedFromForms }) => ({
    formSubmissions,
    bookedFromForms,
    bookingRate: formSubmissions === 0 ? null : bookedFromForms / formSubmissions,
  }));
}
