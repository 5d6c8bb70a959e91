/**
 * What refused webhook requests cost (issue 11, items 1 and 4): no database write each, counts per minute and
 * reason, a per-address limit that never holds back a validly signed delivery, and nothing read before the headers
 * say the request could be a delivery. Real HTTP (raw sockets where a client must stall), Temporal and PostgreSQL.
 */
import { connect } from 'node:net';
import { signatureFor } from '../../src/calendly/signature';
import { WebhookDeliverySchema } from '../../src/database/entities/webhook-delivery';
import { refusalCounts } from '../../src/database/refusals';
import { SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
const LIMIT = 3;

beforeAll(async () => {
  system = await startTestSystem({ env: { WEBHOOK_REFUSALS_PER_MINUTE: String(LIMIT), HTTP_REQUEST_TIMEOUT_SECONDS: '2', TRUST_PROXY_HOPS: '1' } });
});
afterAll(() => system.stop());

const now = () => Math.floor(Date.now() / 1000);
let addresses = 0;
/** A client address of its own (the receiver trusts one proxy's X-Forwarded-For here), so that each test has its own limit. */
const newAddress = () => `203.0.113.${++addresses}`;

async function post(address: string, body: string, headers: Record<string, string | null> = {}) {
  const sent: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': address };
  for (const [name, value] of Object.entries(headers)) {
    if (value === null) delete sent[name];
    else sent[name] = value;
  }
  const response = await fetch(`${system.receiverUrl}/calendly/webhook`, { method: 'POST', headers: sent, body });
  return { status: response.status, headers: response.headers, body: (await response.json()) };
}

async function refusalsByReason(): Promise<Record<string, number>> {
  await system.flushRefusals();
  const totals: Record<string, number> = {};
  for (const { reason, count } of await refusalCounts(system.orm.em.fork())) totals[reason] = (totals[reason] ?? 0) + count;
  return totals;
}

interface RawAnswer {
  /** the status line's code, or undefined when the connection closed without an answer */
  status?: number;
  head: string;
  /** ms from the request's start to the answer (or the close) */
  ms: number;
  closed: boolean;
}

/**
 * Sends a request head and `bodyPart` only, then stalls; resolves at the first answer, or when the server closes the
 * connection, or after `waitMs`.
 */
function stalledRequest(head: string[], bodyPart = '', waitMs = 8_000): Promise<RawAnswer> {
  return stalledBytes(`${head.join('\r\n')}\r\n\r\n${bodyPart}`, waitMs);
}

function stalledBytes(sent: string, waitMs: number): Promise<RawAnswer> {
  const { port } = new URL(system.receiverUrl);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  return new Promise((resolve) => {
    let received = '';
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      resolve({ status: status ? Number(status) : undefined, head: received.split('\r\n\r\n')[0] ?? '', ms: Date.now() - started, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('connect', () => socket.write(sent));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
  });
}

const webhookHead = (address: string, extra: string[]) => [
  'POST /calendly/webhook HTTP/1.1',
  'Host: 127.0.0.1',
  'Content-Type: application/json',
  `X-Forwarded-For: ${address}`,
  ...extra,
];

it('writes no delivery row for forged or unsigned requests, and counts them per minute and reason', async () => {
  const before = await refusalsByReason();
  const rowsBefore = await system.orm.em.fork().count(WebhookDeliverySchema, {});
  const body = JSON.stringify({ event: 'invitee.created', payload: {} });
  const answers = [];
  for (let i = 0; i < 10; i++) {
    answers.push(await post(newAddress(), body, { 'calendly-webhook-signature': signatureFor(body, 'attacker-key-0000', now()) }));
    answers.push(await post(newAddress(), body, { 'calendly-webhook-signature': null }));
    answers.push(await post(newAddress(), 'a=b', { 'content-type': 'application/x-www-form-urlencoded' }));
  }
  expect(answers.map(({ status }) => status).sort()).toEqual([...Array<number>(20).fill(401), ...Array<number>(10).fill(415)]);
  for (const { body: answer } of answers) expect(answer).toEqual({ error: expect.any(String), code: expect.any(String), trackingId: expect.any(String) });

  const after = await refusalsByReason();
  const added = (reason: string) => (after[reason] ?? 0) - (before[reason] ?? 0);
  expect([added('signature_mismatch'), added('signature_missing'), added('unsupported_media_type')]).toEqual([10, 10, 10]);
  expect(Object.keys(after).reduce((sum, reason) => sum + added(reason), 0)).toBe(30);
  expect(await system.orm.em.fork().count(WebhookDeliverySchema, {})).toBe(rowsBefore);

  const metrics = await (await fetch(`${system.metricsUrl}/metrics`)).text();
  const counted = (reason: string) => Number(new RegExp(`^calendly_webhook_refusals_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
  expect(counted('signature_mismatch')).toBeGreaterThanOrEqual(10);
  expect(counted('unsupported_media_type')).toBeGreaterThanOrEqual(10);
});

it('answers an address over its limit 429 without reading its body, but still accepts its signed delivery', async () => {
  const address = newAddress();
  const { invitee } = await system.fake.bookMeeting(
    { email: `limited-${Date.now()}@example.com`, startTime: new Date(Date.now() + 86_400_000).toISOString() },
    { deliver: false },
  );
  const delivery = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  for (let i = 0; i < LIMIT; i++) {
    expect((await post(address, delivery.body, { 'calendly-webhook-signature': null })).status).toBe(401);
  }

  // A megabyte announced, none of it sent: the answer cannot have waited for the body.
  const limited = await stalledRequest(webhookHead(address, ['Content-Length: 1000000']));
  expect(limited).toMatchObject({ status: 429 });
  expect(limited.head).toMatch(/^Retry-After: \d+$/im);
  const forged = await post(address, delivery.body, { 'calendly-webhook-signature': signatureFor(delivery.body, 'attacker-key-0000', now()) });
  expect(forged).toMatchObject({ status: 429, body: { code: 'rate_limited', trackingId: expect.any(String) } });
  expect(Number(forged.headers.get('retry-after'))).toBeGreaterThan(0);

  const accepted = await post(address, delivery.body, { 'calendly-webhook-signature': delivery.signature });
  expect(accepted).toMatchObject({ status: 202, body: { accepted: true, duplicate: false } });
  // Another address is not limited by this one.
  expect((await post(newAddress(), delivery.body, { 'calendly-webhook-signature': null })).status).toBe(401);
});

it('refuses a request without a signature header before its announced body is sent', async () => {
  const answer = await stalledRequest(webhookHead(newAddress(), ['Content-Length: 1000000']), '{"event":');
  expect(answer).toMatchObject({ status: 401 });
  expect(answer.ms).toBeLessThan(1_000);
});

it('refuses a body announced over 1 MiB before it is sent, even with a well-formed signature header', async () => {
  const header = signatureFor('{}', 'attacker-key-0000', now());
  const answer = await stalledRequest(webhookHead(newAddress(), [`Calendly-Webhook-Signature: ${header}`, 'Content-Length: 2000000']));
  expect(answer).toMatchObject({ status: 413 });
});

it('stops reading a body sent without a length once it is over 1 MiB', async () => {
  const body = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
  const header = signatureFor(body, 'attacker-key-0000', now());
  const chunked = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(body));
      controller.close();
    },
  });
  const response = await fetch(`${system.receiverUrl}/calendly/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': newAddress(), 'calendly-webhook-signature': header },
    body: chunked,
    duplex: 'half',
  });
  expect(response.status).toBe(413);
  expect(await response.json()).toMatchObject({ code: 'payload_too_large' });
});

it('cuts a stalled upload at the request timeout, and a stalled request head too', async () => {
  const header = signatureFor('{}', 'attacker-key-0000', now());
  const upload = await stalledRequest(webhookHead(newAddress(), [`Calendly-Webhook-Signature: ${header}`, 'Content-Length: 100000']), '{"event":');
  expect(upload.status === 408 || upload.closed).toBe(true);
  expect(upload.ms).toBeLessThan(5_000);

  const head = await stalledBytes('POST /calendly/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty', 8_000);
  expect(head.status === 408 || head.closed).toBe(true);
  expect(head.ms).toBeLessThan(5_000);
});
