/**
 * GET /api/routing-form-submissions for two organizations side by side, each its own Calendly account connected
 * through OAuth (the fake's), against the real receiver, worker, Temporal and PostgreSQL: each token sees only its
 * organization's submissions, whatever it filters by; each filter narrows; a bad query is a 400, never a 5xx.
 */
import { randomUUID } from 'node:crypto';
import { calendlyAccount, connectAndSetUp } from '../support/oauth-flow';
import { eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Unique per run: other test files share the database. */
const tenant = (name: string) => ({
  organization: `https://app.example.com/organizations/${name}-${randomUUID()}`,
  token: `${name}-forms-api-token-${randomUUID().replaceAll('-', '')}`,
});
const ACME = tenant('acme');
const GLOBEX = tenant('globex');
type Tenant = typeof ACME;

const ROUTE = '/api/routing-form-submissions';
const shared = `${randomUUID()}@Both.test`;
const acmeOnly = `${randomUUID()}@acme-only.test`;
const answers = (email: string) => [
  { question: 'Full name', answer: 'Ada Lovelace' },
  { question: 'Email address', answer: email },
];

let system: TestSystem;
/** Acme's submissions in the order made: no booking, booked, no booking again (the shared address twice). */
let acme: { uri: string; submittedAt: string; id: string }[];
let globexUri: string;

const get = (query: string, who: Tenant | null) => system.get(`${ROUTE}${query}`, who?.token ?? null);
const urisOf = async (query: string, who: Tenant) => {
  const { status, body } = await get(query, who);
  expect({ query, status }).toEqual({ query, status: 200 });
  return body.data.map((submission: { uri: string }) => submission.uri);
};

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ ...oauthEnvironment(fake), API_TOKENS: [ACME, GLOBEX].map(({ token, organization }) => `${token}:${organization}`).join(',') }),
  });
  const acmeAccount = calendlyAccount(system, 'Acme');
  const globexAccount = calendlyAccount(system, 'Globex');
  await connectAndSetUp(system, ACME.token, acmeAccount.owner);
  await connectAndSetUp(system, GLOBEX.token, globexAccount.owner);

  const submitted: string[] = [];
  const submit = async (organization: string, email: string, booked: boolean) => {
    const startTime = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const { submission } = await system.fake.submitRoutingForm({ organization, answers: answers(email), ...(booked ? { booking: { email, name: 'Ada Lovelace', startTime } } : {}) });
    submitted.push(submission.uri);
    return submission.uri;
  };
  await submit(acmeAccount.organizationUri, shared, false);
  await submit(acmeAccount.organizationUri, acmeOnly, true);
  await submit(acmeAccount.organizationUri, shared.toLowerCase(), false);
  globexUri = await submit(globexAccount.organizationUri, shared, false);

  // Stored, and the booked one linked to its meeting.
  const stored = await eventually(async () => {
    const { body } = await get('?limit=100', ACME);
    const booked = body.data.find((each: any) => each.uri === submitted[1]);
    return body.pagination.total === 3 && booked?.meetingId ? body.data : undefined;
  }, 30_000, "Acme's three submissions");
  acme = submitted.slice(0, 3).map((uri) => stored.find((each: any) => each.uri === uri));
  await eventually(async () => ((await get('', GLOBEX)).body.pagination.total === 1 ? true : undefined), 30_000, "Globex's submission");
}, 120_000);
afterAll(() => system?.stop());

it("shows each organization its own submissions, latest first, as the lead.form_submitted view", async () => {
  const { status, body } = await get('', ACME);
  expect(status).toBe(200);
  expect(body.pagination).toEqual({ limit: 20, offset: 0, total: 3 });
  expect(body.data.map((each: { uri: string }) => each.uri)).toEqual([acme[2].uri, acme[1].uri, acme[0].uri]);
  expect(body.data[1]).toMatchObject({
    organization: ACME.organization,
    // A delivery names the form by URI only; a sync fills its name in.
    routingForm: { uri: expect.stringContaining('/routing_forms/') },
    questionsAndAnswers: [{ question: 'Full name', answer: 'Ada Lovelace' }, { answer: acmeOnly }],
    booked: true,
    meetingId: expect.any(String),
    leadId: expect.any(String),
  });
  expect(body.data[0]).toMatchObject({ booked: false, meetingId: null, submitter: null });

  const globex = await get('', GLOBEX);
  expect(globex.body).toMatchObject({ pagination: { total: 1 }, data: [{ uri: globexUri, organization: GLOBEX.organization }] });
});

it("shows another organization's token none of Acme's submissions, whatever it filters by", async () => {
  // The shared address submitted to both: Globex finds only its own.
  expect(await urisOf(`?email=${encodeURIComponent(shared)}`, GLOBEX)).toEqual([globexUri]);
  expect(await urisOf(`?email=${encodeURIComponent(acmeOnly)}`, GLOBEX)).toEqual([]);
  expect(await urisOf('?booked=true', GLOBEX)).toEqual([]);
  expect(await urisOf(`?from=${encodeURIComponent(acme[0].submittedAt)}&limit=100`, GLOBEX)).toEqual([globexUri]);
  expect(await urisOf(`?email=${encodeURIComponent(shared)}`, ACME)).toEqual([acme[2].uri, acme[0].uri]);
});

it('narrows by booked, by lead email in any case, and by submission time', async () => {
  const [first, booked, last] = acme.map((each) => each.uri);
  expect(await urisOf('?booked=true', ACME)).toEqual([booked]);
  expect(await urisOf('?booked=false', ACME)).toEqual([last, first]);
  expect(await urisOf(`?email=${encodeURIComponent(acmeOnly.toUpperCase())}`, ACME)).toEqual([booked]);
  expect(await urisOf(`?email=${encodeURIComponent(shared.toUpperCase())}&booked=false`, ACME)).toEqual([last, first]);
  expect(await urisOf(`?email=${encodeURIComponent(acmeOnly)}&booked=false`, ACME)).toEqual([]);
  expect(await urisOf(`?email=${encodeURIComponent(`nobody-${randomUUID()}@example.com`)}`, ACME)).toEqual([]);

  // `from` inclusive, `to` exclusive, on the submission time.
  const at = (index: number) => encodeURIComponent(acme[index].submittedAt);
  expect(await urisOf(`?from=${at(1)}`, ACME)).toEqual([last, booked]);
  expect(await urisOf(`?to=${at(1)}&from=${encodeURIComponent(new Date(Date.parse(acme[0].submittedAt) - 1).toISOString())}`, ACME)).toEqual([first]);
  expect(await urisOf(`?from=${at(1)}&to=${at(2)}`, ACME)).toEqual([booked]);
  // An offset other than Z names the same instant.
  const plusTwo = new Date(Date.parse(acme[1].submittedAt) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
  expect(await urisOf(`?from=${encodeURIComponent(plusTwo)}&to=${at(2)}`, ACME)).toEqual([booked]);
});

it('pages with the total over all pages', async () => {
  const first = await get('?limit=2', ACME);
  expect(first.body.pagination).toEqual({ limit: 2, offset: 0, total: 3 });
  expect(first.body.data.map((each: { uri: string }) => each.uri)).toEqual([acme[2].uri, acme[1].uri]);
  const second = await get('?limit=2&offset=2', ACME);
  expect(second.body).toMatchObject({ pagination: { limit: 2, offset: 2, total: 3 }, data: [{ uri: acme[0].uri }] });
  expect((await get('?booked=false&limit=1&offset=1', ACME)).body).toMatchObject({ pagination: { total: 2 }, data: [{ uri: acme[0].uri }] });
  // Far past the end: an empty page, not an error.
  expect((await get('?offset=9007199254740991', ACME)).body).toMatchObject({ data: [], pagination: { total: 3 } });
});

it('refuses a caller without a valid token', async () => {
  expect(await get('', null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await system.get(ROUTE, 'not-a-configured-token-123')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it('answers 400 invalid_query, never a 5xx, for a hostile query', async () => {
  const from = '2032-01-02T00:00:00Z';
  const hostile = [
    'booked=yes',
    'booked=TRUE',
    'booked=true&booked=false',
    'email=%00',
    'email=ada%00%40example.com',
    'email=',
    'email=a&email=b',
    'from=yesterday',
    'from=2032-02-30T00:00:00Z',
    'from=2032-01-01T00:00:00',
    'from=%2B275760-09-13T00:00:00Z',
    `to=${from}&from=2032-01-03T00:00:00Z`,
    `from=${from}&to=${from}`,
    'limit=0',
    'limit=101',
    'limit=1e400',
    'limit=abc',
    'limit=1.5',
    'offset=-1',
    'offset=99999999999999999999',
    // PostgreSQL has no year 0.
    'to=0000-01-01T00:00:00Z',
    'from=0001-01-01T00:30:00%2B01:00',
  ];
  for (const query of hostile) {
    const answer = await get(`?${query}`, ACME);
    expect({ query, status: answer.status, code: answer.body.code }).toEqual({ query, status: 400, code: 'invalid_query' });
  }
  expect((await get('?booked=maybe', ACME)).body.error).toContain('booked');
  expect((await get(`?from=${from}&to=${from}`, ACME)).body.error).toContain('to');
  // Instants at the edges of what ISO 8601 writes are fine, and match nothing.
  for (const query of ['from=9999-12-31T23:59:59Z', 'to=0001-01-01T00:00:00Z']) {
    expect({ query, ...(await get(`?${query}`, ACME)) }).toMatchObject({ query, status: 200, body: { data: [], pagination: { total: 0 } } });
  }
});
