/**
 * The subscription and sync scripts with `--connection <id>`: they work on that OAuth connection's Calendly account,
 * its own webhook URL and signing key, and its organization's data, as an operator runs them.
 */
import { randomUUID } from 'node:crypto';
import { connectThroughCalendly } from '../support/oauth-flow';
import { API_TOKEN, eventually, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';
import { runScript, type ScriptRun } from '../support/scripts';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();

const ACME = `https://app.example.com/organizations/acme-${RUN}`;
const ACME_TOKEN = 'acme-token-0123456789abcdef';
const OTHER_TOKEN = 'other-token-0123456789abcdef';

let system: TestSystem;
let connectionId: string;
let calendlyOrganization: string;
let acmeOwner: { name: string; email: string; uri: string };

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ ...oauthEnvironment(fake), API_TOKENS: `${API_TOKEN},${ACME_TOKEN}:${ACME},${OTHER_TOKEN}:https://app.example.com/organizations/other-${RUN}` }),
  });
  const created = system.fake.createOrganization({ owner: { name: 'Acme Owner', email: 'owner@acme.example' } });
  calendlyOrganization = created.organizationUri;
  acmeOwner = created.owner;
  const connected = await connectThroughCalendly(system, ACME_TOKEN, acmeOwner.uri);
  expect(connected.status).toBe(200);
  connectionId = connected.body.connection.id;
  // The connection's set-up (subscription, first sync) is done before the scripts look at it.
  await eventually(
    async () => {
      const { body } = await system.get('/api/connection', ACME_TOKEN);
      return body.connection.webhook.active && body.connection.lastSyncedAt ? true : undefined;
    },
    45_000,
    'the connection set up',
  );
});
afterAll(() => system.stop());

function run(script: string, args: string[] = []): Promise<ScriptRun> {
  const env = {
    API_URL: system.receiverUrl,
    CALENDLY_API_BASE_URL: system.fake.url,
    ...oauthEnvironment(system.fake),
    API_TOKENS: API_TOKEN,
    DATABASE_URL: system.config.databaseUrl,
    TEMPORAL_ADDRESS: system.config.temporal.address,
    TEMPORAL_NAMESPACE: system.config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: system.config.temporal.taskQueue,
  };
  return runScript(script, args, env);
}

it("verifies the connection's own subscription, and its self-test is accepted with its own signing key", async () => {
  await system.fake.bookMeeting({ email: `cli-connection-${Date.now()}@example.com`, startTime: '2033-03-01T10:00:00Z', hostUri: acmeOwner.uri }, { deliver: false });
  const verified = await run('subscription-verify.ts', ['--connection', connectionId, '--self-test']);
  expect(verified.stderr).toBe('');
  expect(verified.stdout).toContain(`Organization: ${calendlyOrganization}`);
  expect(verified.stdout).toContain(`Webhook URL:  ${system.receiverUrl}/calendly/webhook/${connectionId}`);
  expect(verified.stdout).toContain('OK: Calendly delivers bookings here.');
  expect(verified.stdout).toContain('OK: The receiver accepted the signed test delivery');
  expect(verified.code).toBe(0);

  const reconnect = await run('subscription-reconnect.ts', ['--connection', connectionId]);
  expect(reconnect.code).toBe(0);
  expect(reconnect.stdout).toContain('Already connected: nothing to change.');
}, 60_000);

it("bookings:sync feeds the connection's bookings into its organization only", async () => {
  const email = `cli-connection-sync-${Date.now()}@example.com`;
  await system.fake.bookMeeting({ email, startTime: '2034-05-01T10:00:00Z', hostUri: acmeOwner.uri }, { deliver: false });
  const synced = await run('bookings-sync.ts', ['--connection', connectionId, '--from', '2034-04-01T00:00:00Z', '--to', '2034-06-01T00:00:00Z']);
  expect(synced.stderr).toBe('');
  expect(synced.code).toBe(0);
  expect(synced.stdout).toContain(`Scheduled events of ${calendlyOrganization}`);
  expect(synced.stdout).toContain('Done: 1 event, 1 invitee: 1 started, 0 already known.');

  const meetings = `/api/meetings?email=${encodeURIComponent(email)}`;
  await eventually(async () => ((await system.get(meetings, ACME_TOKEN)).body.pagination.total === 1 ? true : undefined), 30_000, 'the meeting in Acme');
  expect((await system.get(meetings, OTHER_TOKEN)).body.pagination.total).toBe(0);
}, 60_000);

it("bookings:sync stores the connection's routing form submissions made since --from for its organization only, and says how many", async () => {
  const email = `cli-connection-form-${Date.now()}@example.com`;
  const from = new Date(Date.now() - 1000).toISOString();
  // Not delivered: only the sync brings it in.
  const { submission } = await system.fake.submitRoutingForm(
    { organization: calendlyOrganization, answers: [{ question: 'Email address', answer: email }] },
    { deliver: false },
  );
  const window = ['--connection', connectionId, '--from', from, '--to', new Date(Date.now() + 60_000).toISOString()];
  const submissions = `/api/routing-form-submissions?email=${encodeURIComponent(email)}`;

  const dryRun = await run('bookings-sync.ts', [...window, '--dry-run']);
  expect(dryRun.code).toBe(0);
  expect(dryRun.stdout).toContain(`Routing form submissions since ${from}: 1 read (dry run: nothing stored).`);
  expect((await system.get(submissions, ACME_TOKEN)).body.pagination.total).toBe(0);

  const synced = await run('bookings-sync.ts', window);
  expect(synced.stderr).toBe('');
  expect(synced.code).toBe(0);
  expect(synced.stdout).toContain(`Routing form submissions since ${from}: 1 read, 1 new.`);
  expect((await system.get(submissions, ACME_TOKEN)).body).toMatchObject({
    pagination: { total: 1 },
    data: [{ uri: submission.uri, routingForm: { name: 'Contact us' }, booked: false, organization: ACME }],
  });
  expect((await system.get(submissions, OTHER_TOKEN)).body.pagination.total).toBe(0);

  const again = await run('bookings-sync.ts', window);
  expect(again.stdout).toContain(`Routing form submissions since ${from}: 1 read, 0 new.`);
  expect((await system.get(submissions, ACME_TOKEN)).body.pagination.total).toBe(1);
}, 60_000);

it('answers an unknown connection with 2, and a missing CALENDLY_API_TOKEN (for its default connection) with 2 too', async () => {
  const unknown = await run('bookings-sync.ts', ['--connection', '00000000-0000-4000-8000-000000000000']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('--connection: connection 00000000-0000-4000-8000-000000000000 does not exist');
  const withoutToken = await run('subscription-verify.ts');
  expect(withoutToken.code).toBe(2);
  expect(withoutToken.stderr).toContain('no CALENDLY_API_TOKEN is configured');
  expect(withoutToken.stderr).toContain('pass --connection <id>');
});
