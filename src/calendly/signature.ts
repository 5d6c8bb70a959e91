/**
 * Calendly-Webhook-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`
 * (https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures).
 * Signed and verified over the raw bytes, never over re-serialised JSON.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'calendly-webhook-signature';

export type SignatureOutcome = 'valid' | 'missing' | 'malformed' | 'mismatch' | 'expired' | 'future';

export function signatureFor(rawBody: Buffer | string, signingKey: string, unixSeconds: number): string {
  const hmac = createHmac('sha256', signingKey);
  hmac.update(`${unixSeconds}.`);
  hmac.update(rawBody);
  return `t=${unixSeconds},v1=${hmac.digest('hex')}`;
}

interface ParsedHeader {
  timestamp: number;
  signatures: Buffer[];
}

function parseHeader(header: string): ParsedHeader | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) return undefined;
    const name = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

export interface VerifyOptions {
  /** Every key currently accepted; several during a rotation. */
  signingKeys: readonly string[];
  toleranceSeconds: number;
  nowSeconds: number;
}

export type SignatureHeaderProblem = Exclude<SignatureOutcome, 'valid' | 'mismatch'>;

/** What the header alone decides, so a request can be refused before its body is read. */
export function signatureHeaderProblem(header: string | undefined, options: Omit<VerifyOptions, 'signingKeys'>): SignatureHeaderProblem | undefined {
  const checked = checkHeader(header, options);
  return 'problem' in checked ? checked.problem : undefined;
}

function checkHeader(
  header: string | undefined,
  { toleranceSeconds, nowSeconds }: Omit<VerifyOptions, 'signingKeys'>,
): { problem: SignatureHeaderProblem } | { parsed: ParsedHeader } {
  if (!header) return { problem: 'missing' };
  const parsed = parseHeader(header);
  if (!parsed) return { problem: 'malformed' };
  if (parsed.timestamp < nowSeconds - toleranceSeconds) return { problem: 'expired' };
  if (parsed.timestamp > nowSeconds + toleranceSeconds) return { problem: 'future' };
  return { parsed };
}

export function verifySignature(rawBody: Buffer, header: string | undefined, options: VerifyOptions): SignatureOutcome {
  const checked = checkHeader(header, options);
  if ('problem' in checked) return checked.problem;
  const { parsed } = checked;
  for (const key of options.signingKeys) {
    const expected = createHmac('sha256', key).update(`${parsed.timestamp}.`).update(rawBody).digest();
    if (parsed.signatures.some((candidate) => timingSafeEqual(candidate, expected))) return 'valid';
  }
  return 'mismatch';
}
