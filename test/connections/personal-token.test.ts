/**
 * The single account of CALENDLY_API_TOKEN is a connection like the OAuth ones (kind `personal_token`, a fixed id):
 * its organization's token sees it through the same status API and dashboard panel, sends it a test webhook, and
 * finds that in its delivery log; another organization sees and does none of it. Here without OAuth configured, as
 * a deployment of the single account runs. Every process saves it at start-up: restarts and simultaneous starts
 * meet in one row under the same id.
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { chromium, type Browser } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { CalendlyApiClient } from '../../src/calendly/api-client';
import { ensurePersonalTokenConnection, keepPersonalTokenConnection } from '../../src/connections/personal-token';
import { createLogger } from '../../src/logger';
import { ormConfig } from '../../src/database/orm-config';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { harness } from '../support/harness';
import { recordHistory } from '../support/histories';
import { API_TOKEN, CALENDLY_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

const OWNER_TOKEN = 'personal-token-owner-0123456789abcdef';
const OTHER_TOKEN = 'personal-token-other-0123456789abcdef';
/** Other test files share the database: an organization unique to this run. */
const OTHER_ORGANIZATION = `https://api.calendly.com/organizations/personal-token-other-${randomUUID()}`;
const PAGE_TIMEOUT_MS = 20_000;

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ API_TOKENS: [API_TOKEN, `${OWNER_TOKEN}:${fake.organizationUri}`, `${OTHER_TOKEN}:${OTHER_ORGANIZATION}`].join(',') }),
  });
});
afterAll(() => system?.stop());

const post = async (path: string, token: string) => {
  const response = await fetch(`${system.receiverUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as any };
};

it('appears as a connection of kind personal_token, under its fixed id and its organization, through the status API', async () => {
  const { status, body } = await system.get('/api/connection', OWNER_TOKEN);
  expect(status).toBe(200);
  expect(body.connection).toMatchObject({
    id: PERSONAL_TOKEN_CONNECTION_ID,
    kind: 'personal_token',
    organization: system.fake.organizationUri,
    calendlyOrganization: system.fake.organizationUri,
    status: 'connected',
    // The subscription made before it was a connection keeps calling the bare URL.
    callbackUrl: `${system.receiverUrl}/calendly/webhook`,
  });
  expect(JSON.stringify(body)).not.toContain(CALENDLY_TOKEN);
  expect(JSON.stringify(body)).not.toContain(SIGNING_KEY);
});

it('takes a test webhook into its own delivery log; another organization neither sees it nor sends one', async () => {
  const sent = await post('/api/connection/test-webhook', OWNER_TOKEN);
  expect(sent.status).toBe(200);
  expect(sent.body).toMatchObject({ received: true, url: `${system.receiverUrl}/calendly/webhook`, status: 200 });
  const trackingId = (sent.body.answer as { trackingId: string }).trackingId;
  const owners = (await system.get('/api/dashboard', OWNER_TOKEN)).body.recentDeliveries as { id: string; outcome: string }[];
  expect(owners).toEqual(expect.arrayContaining([expect.objectContaining({ id: trackingId, outcome: 'test' })]));
  const [row] = await system.orm.em.fork().execute<{ connection_id: string; organization: string }[]>(
    `select connection_id, organization from webhook_deliveries where id = ?`,
    [trackingId],
  );
  expect(row).toEqual({ connection_id: PERSONAL_TOKEN_CONNECTION_ID, organization: system.fake.organizationUri });

  // Without OAuth here, an organization without a connection is told it cannot get one.
  expect(await system.get('/api/connection', OTHER_TOKEN)).toMatchObject({ status: 404, body: { code: 'oauth_not_configured' } });
  expect(await post('/api/connection/test-webhook', OTHER_TOKEN)).toMatchObject({ status: 404, body: { code: 'oauth_not_configured' } });
  // Naming its organization does not help a token bound to another.
  const named = await system.get(`/api/connection?organization=${encodeURIComponent(system.fake.organizationUri)}`, OTHER_TOKEN);
  expect(named).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  const others = (await system.get('/api/dashboard', OTHER_TOKEN)).body.recentDeliveries as { id: string }[];
  expect(others.map(({ id }) => id)).not.toContain(trackingId);
});

it("answers at its own URL as at the bare one: the same delivery at both is one delivery", async () => {
  const { invitee } = await system.fake.bookMeeting({ email: `${randomUUID()}@example.com`, startTime: '2035-02-01T10:00:00.000000Z' }, { deliver: false });
  const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  const first = await system.deliver(body, { signature });
  expect(first.status).toBe(202);
  const again = await fetch(`${system.receiverUrl}/calendly/webhook/${PERSONAL_TOKEN_CONNECTION_ID}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'calendly-webhook-signature': signature },
    body,
  });
  expect(again.status).toBe(200);
  expect(await again.json()).toMatchObject({ duplicate: true, workflowId: first.body.workflowId });
  await deliveryOutcome(system, first.body.trackingId);
  await recordHistory(system.temporal, 'meeting-delivered-personal-token.json', first.body.workflowId as string);
});

it('shows the dashboard panel with its test webhook button, and no connect or disconnect of its own', async () => {
  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  try {
    const page = await browser.newPage();
    await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(OWNER_TOKEN)}`);
    await page.locator('#connection[data-status="connected"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    expect(await page.locator('#connection-calendly').textContent()).toBe(system.fake.organizationUri);
    expect(await page.getByRole('button', { name: 'Disconnect' }).isVisible()).toBe(false);
    expect(await page.getByRole('button', { name: 'Reconnect' }).isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Send test webhook' }).click();
    await page.locator('#connection-result', { hasText: 'Test webhook received' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    await page.locator('#deliveries tbody tr', { has: page.locator('td.outcome-test') }).first().waitFor({ timeout: PAGE_TIMEOUT_MS });

    // Another organization's panel says in one line that connections are not configured, and offers no buttons.
    const other = await browser.newPage();
    await other.goto(`${system.receiverUrl}/#token=${encodeURIComponent(OTHER_TOKEN)}`);
    await other.locator('#connection[data-status="not_configured"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    expect(await other.locator('#connection-status').textContent()).toBe('Calendly connections are not configured on this server.');
    expect(await other.locator('#connection button').evaluateAll((buttons) => buttons.filter((button) => button.checkVisibility()).length)).toBe(0);
    await other.locator('#deliveries tbody', { hasText: 'No deliveries yet.' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  } finally {
    await browser.close();
  }
});

it('keeps its id across restarts, and processes starting at once make one row', async () => {
  const calendly = () => new CalendlyApiClient({ baseUrl: system.fake.url, token: CALENDLY_TOKEN });
  const orms = await Promise.all(Array.from({ length: 4 }, () => MikroORM.init(ormConfig(harness().databaseUrl))));
  try {
    const before = await ensurePersonalTokenConnection(orms[0], calendly());
    const started = await Promise.all(orms.map((orm) => ensurePersonalTokenConnection(orm, calendly())));
    expect(new Set(started.map(({ id }) => id))).toEqual(new Set([PERSONAL_TOKEN_CONNECTION_ID]));
    expect(started.map(({ createdAt }) => createdAt.getTime())).toEqual(started.map(() => before.createdAt.getTime()));
    const rows = await system.orm.em.fork().execute<{ id: string }[]>(`select id from calendly_connections where kind = 'personal_token'`);
    expect(rows).toEqual([{ id: PERSONAL_TOKEN_CONNECTION_ID }]);
  } finally {
    await Promise.all(orms.map((orm) => orm.close()));
  }
});

it('stops trying, and says why once, when Calendly refuses the token: a revoked token needs a person, not retries', async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', 'personal-token-test', { write: (line: string) => void lines.push(JSON.parse(line)) });
  const refused = new CalendlyApiClient({ baseUrl: system.fake.url, token: 'a-revoked-personal-access-token' });
  const stop = keepPersonalTokenConnection(system.orm, refused, logger, 10);
  try {
    const error = await eventually(() => Promise.resolve(lines.find((line) => line.level === 50)), 10_000, 'the refusal logged');
    expect(error.msg).toBe('Calendly refused CALENDLY_API_TOKEN: replace it in .env and restart');
    // A transient failure would have been logged as a warning and tried again.
    expect(lines.filter((line) => line.level === 40)).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('a-revoked-personal-access-token');
  } finally {
    stop();
  }
});
