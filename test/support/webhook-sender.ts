/**
 * Sends a webhook delivery the way Calendly does: signed over the exact bytes at the moment of each attempt, and
 * retried with back-off after anything but a 2xx (a refused connection, a reset, a timeout, a 5xx), a bounded number
 * of times. Every attempt's answer is recorded.
 */
import { signatureFor } from '../../src/calendly/signature';

export type AttemptStatus = number | 'network-error' | 'timeout';

export interface Attempt {
  status: AttemptStatus;
  at: number;
  ms: number;
}

export interface SendResult {
  accepted: boolean;
  attempts: Attempt[];
  /** The body of the 2xx answer, when there was one. */
  answer?: { status: number; body: any };
}

export interface SendOptions {
  /** Default 40. */
  maxAttempts?: number;
  /** Per attempt; default 10 s (Calendly waits 15 s). */
  timeoutMs?: number;
  /** First pause between attempts, doubled up to `maxPauseMs`; default 250 ms. */
  firstPauseMs?: number;
  /** Default 3 s. */
  maxPauseMs?: number;
  /** No new attempt after this time (epoch ms). */
  deadline?: number;
  /** Sign with this key at each attempt; `signature` overrides it (e.g. a fixed header). */
  signingKey: string;
}

export async function postOnce(url: string, body: string, signature: string | null, timeoutMs: number): Promise<{ status: AttemptStatus; body?: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== null) headers['calendly-webhook-signature'] = signature;
  try {
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    return { status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network-error' };
  }
}

export async function sendUntilAccepted(url: string, body: string, options: SendOptions): Promise<SendResult> {
  const { maxAttempts = 40, timeoutMs = 10_000, firstPauseMs = 250, maxPauseMs = 3_000, deadline = Infinity, signingKey } = options;
  const attempts: Attempt[] = [];
  let pause = firstPauseMs;
  for (let attempt = 1; attempt <= maxAttempts && Date.now() < deadline; attempt++) {
    const started = Date.now();
    const result = await postOnce(url, body, signatureFor(body, signingKey, Math.floor(started / 1000)), timeoutMs);
    attempts.push({ status: result.status, at: started, ms: Date.now() - started });
    if (typeof result.status === 'number' && result.status >= 200 && result.status < 300) {
      return { accepted: true, attempts, answer: { status: result.status, body: result.body } };
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, maxPauseMs);
  }
  return { accepted: false, attempts };
}
