/** GET /api/leads and GET /api/meetings: bearer auth, filters and pagination over bookings stored by the pipeline. */
import { API_TOKEN, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

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
    await deliveryOutcome(system, response.body.trackingId);
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
  // PostgreSQL has no year 0: a 400, not a 500 from below.
  expect(await get('/api/meetings?startFrom=0000-01-01T00:00:00Z')).toMatchObject({ status: 400, body: { code: 'invalid_query', error: expect.stringContaining('startFrom') } });
});

it('shows a token bound to an organization only that organization\'s leads and meetings', async () => {
  const own = await get(`/api/meetings?email=${encodeURIComponent(email)}`, BOUND_TOKEN);
  expect(own.body.pagination.total).toBe(3);
  expect((await get(`/api/leads?email=${encodeURIComponent(email)}`, BOUND_TOKEN)).body.pagination.total).toBe(1);

  const other = await get(`/api/meetings?email=${encodeURIComponent(email)}`, OTHER_ORGANIZATION_TOKEN);
  expect(other).toMatchObject({ status: 200, body: { data: [], pagination: { total: 0 } } });
  expect((await get(`/api/leads?email=${encodeURIComponent(email)}`, OTHER_ORGANIZATION_TOKEN)).body.data).toEqual([]);
});

describe('GET /api/business', () => {
  const paidEmail = `paid-${Date.now()}@example.com`;

  beforeAll(async () => {
    const { invitee } = await system.fake.bookMeeting({ email: paidEmail, name: 'Payer', startTime: '2032-01-13T09:00:00Z', payment: { amount: 49.9, currency: 'EUR' } }, { deliver: false });
    const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
    const response = await system.deliver(body, { signature });
    await deliveryOutcome(system, response.body.trackingId);
  });

  it('shows each meeting its payment and what it is worth', async () => {
    const [paid] = (await get(`/api/meetings?email=${encodeURIComponent(paidEmail)}`, BOUND_TOKEN)).body.data;
    expect(paid).toMatchObject({
      payment: { provider: 'stripe', externalId: expect.stringMatching(/^ch_/), amount: 49.9, currency: 'EUR', successful: true },
      value: { currency: 'EUR', amount: 49.9, source: 'payment' },
    });
    const [unpaid] = (await get(`/api/meetings?email=${encodeURIComponent(email)}&limit=1`, BOUND_TOKEN)).body.data;
    // This system's REVENUE_PER_BOOKING is the default 0, in the default REVENUE_CURRENCY.
    expect(unpaid).toMatchObject({ payment: null, value: { currency: 'USD', amount: 0, source: 'per_booking' } });
  });

  it("answers the organization's figures and its days, and another organization none of them", async () => {
    const { status, body } = await get('/api/business?tz=Europe/Berlin', BOUND_TOKEN);
    expect(status).toBe(200);
    // Every meeting of this file's organization was booked by this file, within the last minutes.
    expect(body).toMatchObject({ timezone: 'Europe/Berlin', range: null, last30Days: { booked: 4, bookedRevenue: [{ currency: 'EUR', amount: 49.9 }] } });
    expect(body.last30Days.byEventType).toEqual([
      expect.objectContaining({ name: '30 Minute Meeting', booked: 4, bookedRevenue: [{ currency: 'EUR', amount: 49.9 }] }),
    ]);
    expect(body.daily).toMatchObject({ from: body.last30Days.from, to: body.last30Days.to });
    expect(body.daily.days).toHaveLength(30);
    expect(body.daily.days.reduce((sum: number, day: { booked: number }) => sum + day.booked, 0)).toBe(4);

    const other = await get('/api/business', OTHER_ORGANIZATION_TOKEN);
    expect(other.status).toBe(200);
    expect(other.body.last30Days).toMatchObject({ booked: 0, bookedRevenue: [], heldRevenue: [], byEventType: [] });
    expect(other.body.daily.days.every((day: { booked: number; bookedRevenue: unknown[] }) => day.booked === 0 && day.bookedRevenue.length === 0)).toBe(true);
  });

  it('draws a chosen period day by day, and refuses an anonymous caller and a wrong or too long period', async () => {
    const from = '2032-01-01T00:00:00Z';
    const to = '2032-01-08T00:00:00Z';
    const { body } = await get(`/api/business?from=${from}&to=${to}`, BOUND_TOKEN);
    expect(body.range).toMatchObject({ from: '2032-01-01T00:00:00.000Z', to: '2032-01-08T00:00:00.000Z', booked: 0 });
    expect(body.daily.days.map((day: { day: string }) => day.day)).toEqual(['2032-01-01', '2032-01-02', '2032-01-03', '2032-01-04', '2032-01-05', '2032-01-06', '2032-01-07']);

    expect(await get('/api/business', null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    const wrong = ['tz=Mars/Olympus', `from=${from}`, `from=${to}&to=${from}`, 'from=2030-01-01T00:00:00Z&to=2031-01-03T00:00:00Z', 'to=x&from=y'];
    for (const query of wrong) {
      const refused = await get(`/api/business?${query}`, BOUND_TOKEN);
      expect({ query, status: refused.status, code: refused.body.code }).toEqual({ query, status: 400, code: 'invalid_query' });
    }
    // A whole leap year is a period.
    expect((await get('/api/business?from=2032-01-01T00:00:00Z&to=2033-01-01T00:00:00Z', BOUND_TOKEN)).body.daily.days).toHaveLength(366);
  });
});
