/**
 * Sends the running receiver a delivery exactly as Calendly would: the current invitee.created envelope, signed with
 * the configured key over the exact bytes sent. Its payload is a real invitee (of the scheduled event with the latest
 * start time) rather than a made-up one: the receiver treats it like any redelivery, so it usually answers 200
 * "duplicate" and at most stores a booking that really exists, and nothing unprocessable is left in the delivery log.
 */
import type { CalendlyApiClient } from '../calendly/api-client';
import { signatureFor, SIGNATURE_HEADER } from '../calendly/signature';
import type { SubscriptionTarget } from './inspection';

export interface SelfTestResult {
  ok: boolean;
  message: string;
  /** the invitee the test delivery was about */
  inviteeUri: string | null;
  /** the receiver's HTTP status; null when nothing was sent or the receiver could not be reached */
  status: number | null;
}

/** The webhook route's answer (see docs/api.md, "The webhook"). */
interface ReceiverAnswer {
  duplicate?: boolean;
  workflowId?: string;
  unprocessed?: string;
  code?: string;
}

const first = async <T>(pages: AsyncGenerator<T[]>): Promise<T | undefined> => {
  for await (const page of pages) return page[0];
  return undefined;
};

export async function sendSelfTest(calendly: CalendlyApiClient, { callbackUrl, signingKey }: SubscriptionTarget): Promise<SelfTestResult> {
  const user = await calendly.getCurrentUser();
  const event = await first(calendly.listScheduledEvents({ organization: user.current_organization, sort: 'start_time:desc' }, { count: 1 }));
  const invitee = event && (await first(calendly.listEventInvitees(event.uri, { count: 1 })));
  if (!event || !invitee) {
    return { ok: false, message: 'The organization has no booking to build a test delivery from: book a meeting, then try again.', inviteeUri: null, status: null };
  }

  const now = new Date();
  const body = JSON.stringify({ created_at: now.toISOString(), created_by: user.uri, event: 'invitee.created', payload: { ...invitee, scheduled_event: event } });
  let response: Response;
  try {
    response = await fetch(callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureFor(body, signingKey, Math.floor(now.getTime() / 1000)) },
      body,
      // Calendly counts a redirect as a failure, so the test does too.
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    return { ok: false, message: `The receiver at ${callbackUrl} could not be reached: ${(error as Error).message}.`, inviteeUri: invitee.uri, status: null };
  }
  const text = await response.text();
  const answer = parsed(text);
  return { ...verdict(response.status, answer, text, callbackUrl), inviteeUri: invitee.uri, status: response.status };
}

function verdict(status: number, answer: ReceiverAnswer, text: string, callbackUrl: string): Pick<SelfTestResult, 'ok' | 'message'> {
  if (status === 401) {
    return {
      ok: false,
      message: `The receiver refused the signature (${answer.code ?? status}): its CALENDLY_WEBHOOK_SIGNING_KEY does not include the first key configured here, or the clocks differ.`,
    };
  }
  if (status < 200 || status > 299) return { ok: false, message: `The receiver at ${callbackUrl} answered ${status}: ${text.slice(0, 300)}` };
  if (answer.unprocessed) return { ok: false, message: `The receiver accepted it (${status}) but could not process it: ${answer.unprocessed}` };
  const duplicate = answer.duplicate ? ', a redelivery of one it already had' : '';
  return { ok: true, message: `The receiver accepted the signed test delivery (${status}${duplicate}): workflow ${answer.workflowId ?? '?'}.` };
}

function parsed(text: string): ReceiverAnswer {
  try {
    return JSON.parse(text) as ReceiverAnswer;
  } catch {
    return {};
  }
}
