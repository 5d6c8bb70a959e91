/**
 * "Send test webhook": a signed delivery this system sends to a connection's own callback URL, as Calendly would. It
 * proves that API_URL reaches a receiver and that the connection's key checks out, for an organization without
 * any booking yet; the receiver records it in the delivery log and starts nothing.
 */
import { signatureFor } from '../calendly/signature';

/** Not a Calendly event name: nothing Calendly sends can be mistaken for it. */
export const TEST_EVENT = 'calendly_bookings.test';

export function testDeliveryBody(connectionId: string, now: Date): string {
  return JSON.stringify({
    event: TEST_EVENT,
    created_at: now.toISOString(),
    created_by: 'https://calendly-bookings.invalid/test-webhook',
    payload: { connection: connectionId },
  });
}

export function isTestDelivery(rawBody: Buffer): boolean {
  try {
    return (JSON.parse(rawBody.toString('utf8')) as { event?: unknown } | null)?.event === TEST_EVENT;
  } catch {
    return false;
  }
}

export interface TestDeliveryResult {
  url: string;
  /** the receiver's HTTP status, or null when it could not be reached */
  status: number | null;
  /** the receiver's answer (its trackingId names the delivery log row), or why it could not be reached */
  answer: unknown;
}

export async function sendTestDelivery(url: string, signingKey: string, connectionId: string, now = new Date()): Promise<TestDeliveryResult> {
  const body = testDeliveryBody(connectionId, now);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, signingKey, Math.floor(now.getTime() / 1000)) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let answer: unknown = text.slice(0, 500);
    try {
      answer = JSON.parse(text);
    } catch {
      // Not JSON (e.g. a proxy's error page): kept as text.
    }
    return { url, status: response.status, answer };
  } catch (error) {
    return { url, status: null, answer: { error: `could not reach ${url}: ${(error as Error).message}` } };
  }
}
