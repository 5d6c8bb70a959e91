/**
 * Moving the account of CALENDLY_API_TOKEN to OAuth: its organization connects its Calendly organization through the
 * OAuth flow, and the personal token connection's row becomes that OAuth connection (same id, kind `oauth`), with the
 * data it had. Bookings come in at its new URL, the old subscription's (the bare URL, signed with
 * CALENDLY_WEBHOOK_SIGNING_KEY) stay the same deliveries until the operator deletes it, a restart with the token
 * still set leaves it OAuth's, and it disconnects like any OAuth connection. Real receiver, worker, Temporal and
 * PostgreSQL, against the fake Calendly's OAuth.
 */
import { randomUUID } from 'node:crypto';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { ensurePersonalTokenConnection, keepPersonalTokenConnection } from '../../src/connections/personal-token';
import { createLogger } from '../../src/logger';
import { personalTokenKeepsSchedules } from '../../src/worker/schedules';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { calendlyAccount, connectAndSetUp, connectThroughCalendly, signingKeyOf } from '../support/oauth-flow';
import { API_TOKEN, CALENDLY_TOKEN, eventually, oauthEnvironment, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

const OWNER_TOKEN = 'takeover-owner-0123456789abcdef';
const OTHER_TOKEN = 'takeover-other-0123456789abcdef';
/** Other test files share the database: an organization unique to this run. */
const OTHER_ORGANIZATION = `https://api.calendly.com/organizations/takeover-other-${randomUUID()}`;

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, `${OWNER_TOKEN}:${fake.organizationUri}`, `${OTHER_TOKEN}:${OTHER_ORGANIZATION}`].join(','),
      // The receiver read the fixed id's keys before the takeover: the new key reaches it within this.
      CONNECTION_SIGNING_KEY_CACHE_SECONDS: '2',
    }),
  });
});
afterAll(async () => {
  // The next test file in this jest worker starts with CALENDLY_API_TOKEN on the same database: give the fixed id
  // back to the token, as a database that never moved would have it.
  await system?.orm.em
    .fork()
    .execute(
      `update calendly_connections set kind = 'personal_token', status = 'connected', signing_key = null, retired_signing_key = null,
         access_token = null, refresh_token = null, token_expires_at = null, webhook_subscription_uri = null where id = ?`,
      [PERSONAL_TOKEN_CONNECTION_ID],
    );
  await system?.stop();
});

/** A booking the fake Calendly holds, sent to `url` signed with `signingKey`, as a subscription would send it. */
async function deliverBooking(inviteeUri: string, url: string, signingKey: string): Promise<{ status: number; body: any }> {
  const { body, signature } = system.fake.webhookDelivery('invitee.created', inviteeUri, signingKey);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signature }, body });
  return { status: response.status, body: await response.json() };
}

const meetingsOf = async (token: string) => ((await system.get('/api/meetings?limit=100', token)).body.data as { inviteeUri: string }[]).map(({ inviteeUri }) => inviteeUri);

it("refuses to replace the token's Calendly organization by another through OAuth, and leaves the connection the token's", async () => {
  const elsewhere = calendlyAccount(system, 'Elsewhere');
  expect(await connectThroughCalendly(system, OWNER_TOKEN, elsewhere.owner)).toMatchObject({ status: 409, body: { code: 'calendly_organization_taken' } });
  expect((await system.get('/api/connection', OWNER_TOKEN)).body.connection).toMatchObject({
    id: PERSONAL_TOKEN_CONNECTION_ID,
    kind: 'personal_token',
    calendlyOrganization: system.fake.organizationUri,
  });
});

it('takes the personal token connection over: same id and data, kind oauth, its own URL; the old and the new subscription deliver one booking once', async () => {
  const bare = `${system.receiverUrl}/calendly/webhook`;
  const before = await system.fake.bookMeeting({ email: `${randomUUID()}@example.com`, startTime: '2035-03-01T10:00:00.000000Z' }, { deliver: false });
  const accepted = await deliverBooking(before.invitee.uri, bare, SIGNING_KEY);
  expect(accepted.status).toBe(202);
  await deliveryOutcome(system, accepted.body.trackingId);
  expect((await system.get('/api/connection', OWNER_TOKEN)).body.connection).toMatchObject({ id: PERSONAL_TOKEN_CONNECTION_ID, kind: 'personal_token' });
  expect(await personalTokenKeepsSchedules(system.orm, true)).toBe(true);

  const id = await connectAndSetUp(system, OWNER_TOKEN, system.fake.userUri);
  expect(id).toBe(PERSONAL_TOKEN_CONNECTION_ID);
  const { body } = await system.get('/api/connection', OWNER_TOKEN);
  expect(body.connection).toMatchObject({
    id: PERSONAL_TOKEN_CONNECTION_ID,
    kind: 'oauth',
    organization: system.fake.organizationUri,
    calendlyOrganization: system.fake.organizationUri,
    status: 'connected',
    callbackUrl: `${bare}/${PERSONAL_TOKEN_CONNECTION_ID}`,
    webhook: { state: 'active' },
  });
  expect(system.fake.subscriptions().map(({ callback_url }) => callback_url)).toContain(`${bare}/${PERSONAL_TOKEN_CONNECTION_ID}`);
  // What it had stays its own, and no one else's.
  expect(await meetingsOf(OWNER_TOKEN)).toContain(before.invitee.uri);
  expect(await meetingsOf(OTHER_TOKEN)).not.toContain(before.invitee.uri);
  expect((await system.get('/api/connection', OTHER_TOKEN)).body).toMatchObject({ code: 'not_connected' });

  // A booking comes in at the new URL, signed with the new key; the old subscription's copy is the same delivery.
  const after = await system.fake.bookMeeting({ email: `${randomUUID()}@example.com`, startTime: '2035-03-02T10:00:00.000000Z' }, { deliver: false });
  const key = await signingKeyOf(system, id);
  expect(key).not.toBe(SIGNING_KEY);
  const delivered = await eventually(
    async () => {
      const answer = await deliverBooking(after.invitee.uri, `${bare}/${id}`, key);
      return answer.status === 202 ? answer : undefined;
    },
    15_000,
    'the new subscription accepted at the new URL',
  );
  await deliveryOutcome(system, delivered.body.trackingId);
  expect(await meetingsOf(OWNER_TOKEN)).toContain(after.invitee.uri);
  expect(await deliverBooking(after.invitee.uri, bare, SIGNING_KEY)).toMatchObject({ status: 200, body: { duplicate: true, workflowId: delivered.body.workflowId } });
});

it('stays OAuth through a restart with CALENDLY_API_TOKEN still set, which says once that the token can go; then disconnects', async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', 'takeover-test', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const calendly = new CalendlyApiClient({ baseUrl: system.fake.url, token: CALENDLY_TOKEN });
  expect(await ensurePersonalTokenConnection(system.orm, calendly)).toMatchObject({ id: PERSONAL_TOKEN_CONNECTION_ID, kind: 'oauth' });
  const stop = keepPersonalTokenConnection(system.orm, calendly, logger, 10);
  try {
    const said = await eventually(() => Promise.resolve(lines.find((line) => line.level === 40)), 10_000, 'the start-up saying the token can go');
    expect(said.msg).toContain('now connected through OAuth');
  } finally {
    stop();
  }
  expect(lines.filter((line) => line.level === 40)).toHaveLength(1);
  // Its set-up keeps its schedules now, and its teardown deletes them: a worker's start must not bring them back.
  expect(await personalTokenKeepsSchedules(system.orm, true)).toBe(false);
  expect((await system.get('/api/connection', OWNER_TOKEN)).body.connection).toMatchObject({ id: PERSONAL_TOKEN_CONNECTION_ID, kind: 'oauth', status: 'connected' });

  const answer = await fetch(`${system.receiverUrl}/api/connection/disconnect`, { method: 'POST', headers: { authorization: `Bearer ${OWNER_TOKEN}` } });
  expect({ status: answer.status, body: await answer.json() }).toMatchObject({ status: 200, body: { connection: { id: PERSONAL_TOKEN_CONNECTION_ID, status: 'disconnected' } } });
  await eventually(
    () => Promise.resolve(system.fake.subscriptions().some(({ callback_url }) => callback_url === `${system.receiverUrl}/calendly/webhook/${PERSONAL_TOKEN_CONNECTION_ID}`) ? undefined : true),
    30_000,
    'its subscription deleted',
  );
  // A restart does not make it the token's again.
  expect(await ensurePersonalTokenConnection(system.orm, calendly)).toMatchObject({ kind: 'oauth', status: 'disconnected' });
});
