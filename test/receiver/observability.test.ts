/**
 * What operators see of the receiver: its Prometheus metrics after real traffic, the request id on every answer and
 * access log line, JSON answers for unknown routes and wrong methods, and CORS for the configured origins only.
 */
import { Writable } from 'node:stream';
import { signatureFor } from '../../src/calendly/signature';
import { createLogger } from '../../src/logger';
import { commitEvent, openEventStream } from '../support/event-stream';
import { scrapeMetrics } from '../support/metrics';
import { API_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

const ALLOWED_ORIGIN = 'https://app.example.com';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every log line of the system, parsed. */
const logLines: Array<Record<string, any>> = [];
const logStream = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as Record<string, any>);
    done();
  },
});

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({
    proxyTemporal: true,
    env: { CORS_ALLOWED_ORIGINS: `${ALLOWED_ORIGIN}, http://localhost:5173` },
    logger: createLogger('info', 'test', logStream),
  });
});
afterAll(() => system.stop());

const now = () => Math.floor(Date.now() / 1000);

/** POSTs a signed delivery with the given extra headers. */
async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${system.receiverUrl}/calendly/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signatureFor(body, SIGNING_KEY, now()), ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function bookedInviteeDelivery(): Promise<string> {
  const { invitee } = await system.fake.bookMeeting(
    { email: `metrics-${Date.now()}@example.com`, name: 'Grace Hopper', startTime: new Date(Date.now() + 3 * 86_400_000).toISOString() },
    { deliver: false },
  );
  return system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY).body;
}

const scrape = () => scrapeMetrics(system.metricsUrl);

/** Waits for the first log line that matches. */
const logLine = (match: (line: Record<string, any>) => boolean, what: string) =>
  eventually(() => Promise.resolve(logLines.find(match)), 5_000, what);

const sample = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

describe('metrics', () => {
  // The environment's subscription and an API token of every organization: their organization label is `none`
  // (organizations.test checks a connection's).
  it('counts deliveries by event type and outcome, times their acknowledgement, and counts websocket clients and messages', async () => {
    const before = await scrape();

    const body = await bookedInviteeDelivery();
    expect((await post(body)).status).toBe(202);
    expect((await post(body)).body).toMatchObject({ accepted: true, duplicate: true });
    const unhandled = JSON.stringify({ event: 'event_type.created', created_at: new Date().toISOString(), payload: { name: 'Intro call' } });
    expect((await post(unhandled)).body).toMatchObject({ accepted: true, unprocessed: expect.any(String) });
    expect((await fetch(`${system.receiverUrl}/no/such/route`)).status).toBe(404);
    expect((await system.deliver('{}', { signature: null })).status).toBe(401);

    const stream = await openEventStream(system.websocketUrl, { token: API_TOKEN });
    const during = await scrape();
    const eventId = await commitEvent(system.orm);
    await stream.waitForEvent(eventId);
    const afterEvent = await scrape();
    await stream.close();
    const clientsGauge = 'calendly_websocket_clients{organization="none"}';
    await eventually(async () => (sample(await scrape(), clientsGauge) === sample(before, clientsGauge) ? true : undefined), 10_000, 'the client gauge to go down');

    const after = await scrape();
    const delta = (key: string) => sample(after, key) - sample(before, key);
    expect(delta(`calendly_webhook_deliveries_total{event_type="invitee.created",outcome="accepted",organization="${system.fake.organizationUri}"}`)).toBe(1);
    expect(delta(`calendly_webhook_deliveries_total{event_type="invitee.created",outcome="duplicate",organization="${system.fake.organizationUri}"}`)).toBe(1);
    expect(delta(`calendly_webhook_deliveries_total{event_type="other",outcome="unprocessed",organization="${system.fake.organizationUri}"}`)).toBe(1);
    expect(delta(`calendly_webhook_deliveries_total{event_type="other",outcome="temporal_unavailable",organization="${system.fake.organizationUri}"}`)).toBe(0);
    expect(delta(`calendly_webhook_ack_seconds_count{organization="${system.fake.organizationUri}"}`)).toBe(3);
    expect(delta(`calendly_webhook_ack_seconds_bucket{le="5",organization="${system.fake.organizationUri}"}`)).toBe(3);
    expect(delta('calendly_webhook_refusals_total{reason="signature_missing"}')).toBe(1);
    // No label value carries what a sender chose: only handled event types or "other", known outcomes.
    for (const key of after.keys()) {
      if (!key.startsWith('calendly_webhook_deliveries_total')) continue;
      expect(key).toMatch(
        /^calendly_webhook_deliveries_total\{event_type="(invitee\.created|invitee\.canceled|invitee_no_show\.created|invitee_no_show\.deleted|other)",outcome="(accepted|duplicate|unprocessed|temporal_unavailable)",organization="[^"]+"\}$/,
      );
    }

    const clients = 'calendly_websocket_clients{organization="none"}';
    const messages = (kind: string) => `calendly_websocket_messages_total{kind="${kind}",organization="none"}`;
    expect(sample(during, clients) - sample(before, clients)).toBe(1);
    expect(sample(during, messages('welcome')) - sample(before, messages('welcome'))).toBe(1);
    expect(sample(afterEvent, messages('live')) - sample(during, messages('live'))).toBeGreaterThanOrEqual(1);
  });
});

describe('request id and access log', () => {
  const accessLine = (requestId: string) => logLine((line) => line.msg === 'HTTP request' && line.requestId === requestId, 'the access log line');

  it('echoes a sane X-Request-Id and puts it on the access log line, without the query string', async () => {
    const response = await fetch(`${system.receiverUrl}/health?token=secret-in-query`, { headers: { 'x-request-id': 'req-1.abc_DEF' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('req-1.abc_DEF');
    const line = await accessLine('req-1.abc_DEF');
    expect(line).toMatchObject({ level: 30, method: 'GET', path: '/health', status: 200, ms: expect.any(Number) });
    expect(JSON.stringify(line)).not.toContain('secret-in-query');
  });

  it.each([
    ['no X-Request-Id', undefined],
    ['an X-Request-Id with forbidden characters', 'bad id\u00e9'],
    ['an X-Request-Id over 128 characters', 'a'.repeat(129)],
  ])('generates a request id for a request with %s', async (_case, given) => {
    const response = await fetch(`${system.receiverUrl}/no/such/route`, { headers: given === undefined ? {} : { 'x-request-id': given } });
    const requestId = response.headers.get('x-request-id')!;
    expect(requestId).toMatch(UUID);
    const line = await accessLine(requestId);
    expect(line).toMatchObject({ method: 'GET', path: '/no/such/route', status: 404 });
  });

  it("puts the request id on the webhook's own log lines, beside its trackingId", async () => {
    const response = await post(await bookedInviteeDelivery(), { 'x-request-id': 'webhook-req-42' });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-request-id')).toBe('webhook-req-42');
    const { trackingId } = response.body;
    const accepted = await logLine((line) => line.msg === 'Webhook delivery accepted' && line.trackingId === trackingId, 'the webhook log line');
    expect(accepted.requestId).toBe('webhook-req-42');
    expect(await accessLine('webhook-req-42')).toMatchObject({
      method: 'POST',
      path: '/calendly/webhook',
      status: 202,
      trackingId,
    });
  });
});

describe('answers in JSON', () => {
  it('answers an unknown route 404 in JSON', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const response = await fetch(`${system.receiverUrl}/nothing-here`, { method });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ error: 'Not found', code: 'not_found' });
    }
  });

  it('answers a wrong method on a known route 405 in JSON, with Allow', async () => {
    for (const [method, path, allow] of [
      ['POST', '/health', /GET/],
      ['GET', '/calendly/webhook', /POST/],
      ['DELETE', '/api/leads', /GET/],
    ] as const) {
      const response = await fetch(`${system.receiverUrl}${path}`, { method });
      expect({ path, status: response.status }).toEqual({ path, status: 405 });
      expect(response.headers.get('allow')).toMatch(allow);
      expect(await response.json()).toEqual({ error: 'Method not allowed', code: 'method_not_allowed' });
    }
  });
});

describe('CORS', () => {
  const get = (path: string, origin: string) => fetch(`${system.receiverUrl}${path}`, { headers: { origin, authorization: `Bearer ${API_TOKEN}` } });

  it('lets a configured origin read the API, and exposes the request id', async () => {
    for (const origin of [ALLOWED_ORIGIN, 'http://localhost:5173']) {
      const response = await get('/api/leads', origin);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/i);
      expect(response.headers.get('vary')).toMatch(/Origin/);
    }
  });

  it('answers the preflight of a configured origin', async () => {
    const response = await fetch(`${system.receiverUrl}/api/leads`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
  });

  it('gives another origin no CORS headers', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.net', 'null']) {
      const response = await get('/api/leads', origin);
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('never applies to the webhook nor to the other routes', async () => {
    const webhook = await post(await bookedInviteeDelivery(), { origin: ALLOWED_ORIGIN });
    expect(webhook.status).toBe(202);
    expect(webhook.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${system.receiverUrl}/calendly/webhook`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    for (const path of ['/health']) expect((await get(path, ALLOWED_ORIGIN)).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('metrics while Temporal is unreachable', () => {
  afterEach(() => system.temporalProxy!.restore());

  it('counts a delivery answered 503 as temporal_unavailable, and times it', async () => {
    const body = await bookedInviteeDelivery();
    const before = await scrape();
    system.temporalProxy!.cut();
    expect((await post(body)).body).toMatchObject({ code: 'temporal_unavailable' });
    const after = await scrape();
    const key = `calendly_webhook_deliveries_total{event_type="invitee.created",outcome="temporal_unavailable",organization="${system.fake.organizationUri}"}`;
    expect(sample(after, key) - sample(before, key)).toBe(1);
    const acks = `calendly_webhook_ack_seconds_count{organization="${system.fake.organizationUri}"}`;
    expect(sample(after, acks) - sample(before, acks)).toBe(1);
  });
});
