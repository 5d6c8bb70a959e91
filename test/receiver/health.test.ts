/** GET /health and GET /ready, and what the receiver answers when Temporal or PostgreSQL cannot be reached. */
import { eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

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
  expect(await get('/ready')).toEqual({ status: 200, body: { status: 'ready', checks: { postgresql: 'ok', temporal: 'ok' } } });
});

it('names PostgreSQL on /ready when the database is unreachable', async () => {
  system.databaseProxy!.cut();
  const ready = await get('/ready');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ status: 'not ready', failing: ['postgresql'], checks: { temporal: 'ok' } });
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
  await expect(system.temporal.workflow.getHandle(retried.body.workflowId).result()).resolves.toMatchObject({ outcome: 'processed' });
});
