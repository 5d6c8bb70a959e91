/**
 * GET /health and GET /ready, the read API's response headers, and what the receiver answers when Temporal or
 * PostgreSQL cannot be reached.
 */
import { refusalCounts } from '../../src/database/refusals';
import { API_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem({ proxyDatabase: true, proxyTemporal: true });
});
afterAll(() => system.stop());
afterEach(() => {
  system.databaseProxy!.restore();
  system.temporalProxy!.restore();
});

const get = (path: string) => system.get(path);

it('says the process is alive on /health', async () => {
  expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok' } });
});

it('is ready when PostgreSQL and Temporal answer', async () => {
  expect(await get('/ready')).toEqual({ status: 200, body: { status: 'ready', failing: [] } });
  expect(await system.get('/ready', API_TOKEN)).toEqual({
    status: 200,
    body: { status: 'ready', failing: [], checks: { postgresql: 'ok', temporal: 'ok' } },
  });
});

it('names PostgreSQL on /ready when the database is unreachable, with its error only for an API token', async () => {
  system.databaseProxy!.cut();
  const ready = await get('/ready');
  expect(ready).toEqual({ status: 503, body: { status: 'not ready', failing: ['postgresql'] } });
  expect(await system.get('/ready', 'not-a-configured-token-123')).toEqual(ready);

  const detailed = await system.get('/ready', API_TOKEN);
  expect(detailed.status).toBe(503);
  expect(detailed.body).toMatchObject({ status: 'not ready', failing: ['postgresql'], checks: { temporal: 'ok', postgresql: expect.any(String) } });
  expect(detailed.body.checks.postgresql).not.toBe('ok');
});

it('marks the read API answers as not to be cached nor sniffed', async () => {
  for (const token of [API_TOKEN, null]) {
    const response = await fetch(`${system.receiverUrl}/api/leads`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect(response.status).toBe(token ? 200 : 401);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  }
});

it('keeps the refusal counts it could not store while PostgreSQL is down, and stores them once it is back', async () => {
  const total = async () => (await refusalCounts(system.orm.em.fork())).reduce((sum, { count }) => sum + count, 0);
  await system.flushRefusals();
  const before = await total();

  system.databaseProxy!.cut();
  const refused = await system.deliver('{}', { signature: null });
  expect(refused).toMatchObject({ status: 401, body: { code: 'signature_missing' } });
  await system.flushRefusals();
  expect(await total()).toBe(before);

  system.databaseProxy!.restore();
  await system.flushRefusals();
  expect(await total()).toBe(before + 1);
});

it('answers 503 to a delivery while Temporal is unreachable, and accepts it once Temporal is back', async () => {
  const { invitee } = await system.fake.bookMeeting(
    { email: `unreachable-${Date.now()}@example.com`, startTime: new Date(Date.now() + 86_400_000).toISOString() },
    { deliver: false },
  );
  const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);

  system.temporalProxy!.cut();
  const refused = await system.deliver(body, { signature });
  expect(refused.status).toBe(503);
  expect(refused.body).toMatchObject({ code: 'temporal_unavailable', trackingId: expect.any(String) });
  const ready = await get('/ready');
  expect(ready).toMatchObject({ status: 503, body: { failing: ['temporal'] } });

  system.temporalProxy!.restore();
  // Calendly retries the same delivery until it gets a 2xx.
  const retried = await eventually(async () => {
    const response = await system.deliver(body, { signature });
    return response.status === 503 ? undefined : response;
  }, 20_000, 'the delivery to be accepted once Temporal is back');
  expect(retried).toMatchObject({ status: 202, body: { duplicate: false } });
  await expect(deliveryOutcome(system, retried.body.trackingId)).resolves.toMatchObject({ outcome: 'processed' });
});
