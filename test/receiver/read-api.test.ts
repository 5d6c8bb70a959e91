/** GET /api/leads and GET /api/meetings: bearer auth, filters and pagination over bookings stored by the pipeline. */
import { API_TOKEN, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;
const email = `reader-${Date.now()}@example.com`;
const starts = ['2032-01-10T09:00:00.000000Z', '2032-01-11T09:00:00.000000Z', '2032-01-12T09:00:00.000000Z'];

const BOUND_TOKEN = 'bound-token-0123456789abcdef';
const OTHER_ORGANIZATION_TOKEN = 'other-org-token-0123456789ab';

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      API_TOKENS: `${API_TOKEN},${BOUND_TOKEN}:${fake.organizationUri},${OTHER_ORGANIZATION_TOKEN}:https://api.calendly.com/organizations/OTHER`,
    }),
  });
  for (const startTime of starts) {
    const { invitee } = await system.fake.bookMeeting({ email, name: 'Reader', startTime }, { deliver: false });
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const response = await system.deliver(body, { signature });
    await system.temporal.workflow.getHandle(response.body.workflowId).result();
  }
});
afterAll(() => system.stop());

const get = (path: string, token: string | null = API_TOKEN) => system.get(path, token);

it('answers 400, not 500, for text PostgreSQL refuses (a NUL character) in a query', async () => {
  expect(await get('/api/leads?email=%00')).toMatchObject({ status: 400, body: { code: 'invalid_query', error: expect.stringContaining('NUL') } });
  expect(await get('/api/meetings?email=ada%00%40example.com')).toMatchObject({ status: 400, body: { code: 'invalid_query' } });
});

it('refuses requests without a valid bearer token', async () => {
  expect(await get('/api/meetings', null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await get('/api/leads', 'not-a-configured-token-123')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it('finds a lead by email, whatever its case', async () => {
  const { status, body } = await get(`/api/leads?email=${encodeURIComponent(email.toUpperCase())}`);
  expect(status).toBe(200);
  expect(body.pagination).toEqual({ limit: 50, offset: 0, total: 1 });
  expect(body.data[0]).toMatchObject({ email, name: 'Reader' });
});

it('lists meetings by email and start range, in start order, page by page', async () => {
  const first = await get(`/api/meetings?email=${encodeURIComponent(email)}&limit=2`);
  expect(first.status).toBe(200);
  expect(first.body.pagination).toEqual({ limit: 2, offset: 0, total: 3 });
  expect(first.body.data.map((meeting: { startTime: string }) => meeting.startTime)).toEqual([
    '2032-01-10T09:00:00.000Z',
    '2032-01-11T09:00:00.000Z',
  ]);
  const second = await get(`/api/meetings?email=${encodeURIComponent(email)}&limit=2&offset=2`);
  expect(second.body.data.map((meeting: { startTime: string }) => meeting.startTime)).toEqual(['2032-01-12T09:00:00.000Z']);
  expect(second.body.data[0]).toMatchObject({ status: 'active', lead: { email }, cancellation: null });

  const ranged = await get(`/api/meetings?email=${encodeURIComponent(email)}&startFrom=2032-01-11T00:00:00Z&startTo=2032-01-12T00:00:00Z`);
  expect(ranged.body.data).toHaveLength(1);
  expect(ranged.body.data[0].startTime).toBe('2032-01-11T09:00:00.000Z');

  expect((await get(`/api/meetings?email=${encodeURIComponent(email)}&status=canceled`)).body.data).toEqual([]);
});

it('answers 400 with the reason for an invalid query', async () => {
  expect(await get('/api/meetings?limit=1000')).toMatchObject({ status: 400, body: { code: 'invalid_query', error: expect.stringContaining('limit') } });
  expect(await get('/api/meetings?status=maybe')).toMatchObject({ status: 400, body: { error: expect.stringContaining('status') } });
});

it('shows a token bound to an organization only that organization\'s leads and meetings', async () => {
  const own = await get(`/api/meetings?email=${encodeURIComponent(email)}`, BOUND_TOKEN);
  expect(own.body.pagination.total).toBe(3);
  expect((await get(`/api/leads?email=${encodeURIComponent(email)}`, BOUND_TOKEN)).body.pagination.total).toBe(1);

  const other = await get(`/api/meetings?email=${encodeURIComponent(email)}`, OTHER_ORGANIZATION_TOKEN);
  expect(other).toMatchObject({ status: 200, body: { data: [], pagination: { total: 0 } } });
  expect((await get(`/api/leads?email=${encodeURIComponent(email)}`, OTHER_ORGANIZATION_TOKEN)).body.data).toEqual([]);
});
