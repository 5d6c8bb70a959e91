/** The one way webhooks leave this system (reminder webhook, outbound event webhooks): signed JSON POSTs. */
import { signatureFor } from '../calendly/signature';

export interface SignedPost {
  url: string;
  /** the exact bytes sent, and signed */
  body: string;
  secret: string;
  /** e.g. `reminder-signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Calendly signs its own */
  signatureHeader: string;
  /** the same on every attempt, so the receiver can drop a repeat whose answer was lost */
  idempotencyKey: string;
}

export function postSigned({ url, body, secret, signatureHeader, idempotencyKey }: SignedPost): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [signatureHeader]: signatureFor(body, secret, Math.floor(Date.now() / 1000)),
      'idempotency-key': idempotencyKey,
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
}

/** A 4xx other than 408 (timeout) and 429 (slow down): the same request will never be accepted, so it is not retried. */
export function isPermanentRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
