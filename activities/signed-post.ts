/** The one way webhooks leave this system (reminder webhook, outbound event webhooks): signed JSON POSTs. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { signatureFor } from '../src/calendly/signature';
import type { OutboundDestinations } from '../src/outbound-destinations';

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

const TIMEOUT_MS = 15_000;

/**
 * POSTs to a destination the policy allows, connected to the very address that was checked: node:http(s) with the
 * policy's DNS lookup (fetch offers no hook between resolving and connecting). Redirects are not followed. Rejects
 * with a DestinationRefused for a forbidden destination, or the network's error (its `code`, or TimeoutError).
 */
export async function postSigned(destinations: OutboundDestinations, { url, body, secret, signatureHeader, idempotencyKey }: SignedPost): Promise<{ status: number }> {
  const target = destinations.checkUrlSyntax(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      target,
      {
        method: 'POST',
        lookup: destinations.lookup,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          [signatureHeader]: signatureFor(body, secret, Math.floor(Date.now() / 1000)),
          'idempotency-key': idempotencyKey,
        },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
      (response) => {
        // Only the status matters: the body is drained so the socket is released.
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0 }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', (error) => reject(error.name === 'AbortError' ? Object.assign(new Error('timed out'), { name: 'TimeoutError' }) : error));
    outgoing.end(body);
  });
}

/** A 4xx other than 408 (timeout) and 429 (slow down): the same request will never be accepted, so it is not retried. */
export function isPermanentRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
