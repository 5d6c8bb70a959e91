/**
 * The dashboard's Calendly connection panel in real headless Chromium, against the real receiver, worker, Temporal
 * and PostgreSQL, with the fake Calendly's OAuth consent page: connect by clicking through Calendly's consent, see
 * the connection and its webhook, send a test webhook and find it in the delivery log, disconnect. Another
 * organization's token sees none of it.
 */
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CALENDLY_CONNECTION } from '../../src/contract';
import { workflowListUrl } from '../../src/temporal/web-ui-links';
import { connectionScheduleIds, connectionWorkflowIds } from '../../src/workflow-ids';
import { API_TOKEN, OAUTH_APP, oauthEnvironment, startTestSystem, type TestSystem } from '../support/system';

/** Other test files share the database: organizations unique to this run. */
const RUN = randomUUID();

const ACME = { organization: `https://app.example.com/organizations/dashboard-acme-${RUN}`, token: 'dashboard-acme-token-0123456789abcdef' };
const GLOBEX = { organization: `https://app.example.com/organizations/dashboard-globex-${RUN}`, token: 'dashboard-globex-token-0123456789abcd' };
/** The set-up workflow (subscription, schedules, first sync) runs after the callback; a loaded machine is slow. */
const SET_UP_TIMEOUT_MS = 60_000;
/** What one page step may take on a loaded machine (the consent round trip exchanges a code and starts a workflow). */
const PAGE_TIMEOUT_MS = 40_000;

let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({
      ...oauthEnvironment(fake),
      API_TOKENS: [API_TOKEN, ...[ACME, GLOBEX].map(({ token, organization }) => `${token}:${organization}`)].join(','),
    }),
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
afterAll(async () => {
  await browser?.close();
  await system?.stop();
});

/**
 * A browser whose requests to the redirect URI registered with the fake (OAUTH_APP, a fixed address) reach this
 * test's receiver, as they reach the receiver itself in a deployment.
 */
async function browserContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  const redirectOrigin = new URL(OAUTH_APP.redirectUri).origin;
  if (redirectOrigin !== new URL(system.receiverUrl).origin) {
    await context.route(
      (url) => url.origin === redirectOrigin,
      (route) => {
        const url = new URL(route.request().url());
        return route.fulfill({ status: 307, headers: { location: `${system.receiverUrl}${url.pathname}${url.search}` } });
      },
    );
  }
  return context;
}

async function openDashboard(context: BrowserContext, token: string): Promise<{ page: Page; pageErrors: Error[] }> {
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(token)}`);
  return { page, pageErrors };
}

const panelIn = (page: Page, status: string) => page.locator(`#connection[data-status="${status}"]`);

it('connects through Calendly, shows the webhook, sends a test webhook into the delivery log, and disconnects', async () => {
  const email = `${randomUUID()}@calendly-acme.test`;
  const { organizationUri } = system.fake.createOrganization({ owner: { name: 'Acme Owner', email }, plan: 'standard' });

  const context = await browserContext();
  const { page, pageErrors } = await openDashboard(context, ACME.token);
  const status = page.locator('#connection-status');
  expect(await status.getAttribute('role')).toBe('status');
  expect(await status.getAttribute('aria-live')).toBe('polite');
  await panelIn(page, 'not_connected').waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(await status.textContent()).toContain('Not connected');
  expect(await page.getByRole('button', { name: 'Disconnect' }).isVisible()).toBe(false);

  // Connect: the browser goes to Calendly's consent page, the owner allows, and Calendly sends it back.
  await page.getByRole('button', { name: 'Connect Calendly' }).click();
  await page.waitForURL((url) => url.origin === new URL(system.fake.url).origin, { timeout: PAGE_TIMEOUT_MS });
  await page.locator('li', { hasText: email }).getByRole('button', { name: 'Allow' }).click();
  await panelIn(page, 'connected').waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(await status.textContent()).toBe('Connected to Calendly.');
  expect(await page.locator('#connection-result').textContent()).toContain('Calendly connected');
  // Back on the dashboard with its token in the address's fragment again, so that a reload works; Calendly's code
  // and state have left the address.
  const back = new URL(page.url());
  const fragment = new URLSearchParams(back.hash.slice(1));
  expect(fragment.get('token')).toBe(ACME.token);
  expect([fragment.has('code'), fragment.has('state'), back.searchParams.has('connection'), back.searchParams.has('token')]).toEqual([false, false, false, false]);

  // The set-up subscribes the webhook; the panel follows it without a reload.
  await page.locator('#connection-webhook[data-active="true"]', { hasText: 'Active' }).waitFor({ timeout: SET_UP_TIMEOUT_MS });
  expect(await page.locator('#connection-calendly').textContent()).toBe(organizationUri);
  const { body } = await system.get('/api/connection', ACME.token);
  const workflowsUrl = workflowListUrl(system.config.temporal, `${CALENDLY_CONNECTION.name} = "${body.connection.id}"`);
  expect(await page.locator('#connection-workflows').getAttribute('href')).toBe(workflowsUrl);

  // A sync's progress shows while it runs. Nothing else may write it meanwhile: the set-up's own sync is over, and the
  // connection's reconcile schedule (every 15 minutes on the clock) is paused, after any run of it in flight.
  await system.temporal.workflow.getHandle(connectionWorkflowIds(body.connection.id).setUp).result();
  const reconcile = system.temporal.schedule.getHandle(connectionScheduleIds(system.config.temporal.taskQueue, body.connection.id).reconcile);
  await reconcile.pause('dashboard test writes the sync state itself');
  for (const { workflow } of (await reconcile.describe()).info.runningActions) {
    await system.temporal.workflow.getHandle(workflow.workflowId, workflow.firstExecutionRunId).result();
  }
  const setSync = (state: string, progress: Record<string, unknown>) =>
    system.orm.em.fork().execute('update calendly_connections set sync_state = ?, sync_progress = ?::jsonb where id = ?', [
      state,
      JSON.stringify(progress),
      body.connection.id,
    ]);
  await setSync('running', { message: 'Page 2: 100 invitees' });
  await page.locator('#connection-sync[data-state="running"]', { hasText: 'Running: Page 2: 100 invitees' }).waitFor({ timeout: SET_UP_TIMEOUT_MS });
  // Once done, what it found (its summary).
  await setSync('idle', { message: 'done', events: 120, invitees: 150, started: 40, alreadyKnown: 110, wouldStart: 0, skipped: 0 });
  await page.locator('#connection-sync[data-state="idle"]', { hasText: /^Last complete sync .*: 150 bookings found, 40 new$/ }).waitFor({ timeout: SET_UP_TIMEOUT_MS });

  // A test webhook goes through the receiver's webhook URL and shows in this organization's delivery log.
  await page.getByRole('button', { name: 'Send test webhook' }).click();
  await page.locator('#connection-result', { hasText: 'Test webhook received' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  const trackingId = /tracking id ([0-9a-f-]{36})/.exec((await page.locator('#connection-result').textContent()) ?? '')?.[1];
  expect(trackingId).toBeDefined();
  await page.locator('#deliveries tbody tr', { has: page.locator('td.outcome-test') }).first().waitFor({ timeout: PAGE_TIMEOUT_MS });
  const acmeDeliveries = (await system.get('/api/dashboard', ACME.token)).body.recentDeliveries;
  expect(acmeDeliveries).toEqual(expect.arrayContaining([expect.objectContaining({ id: trackingId, outcome: 'test' })]));

  // Another organization sees neither the connection nor its test delivery, also on a phone.
  const phone = await browserContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const globex = await openDashboard(phone, GLOBEX.token);
  await panelIn(globex.page, 'not_connected').waitFor({ timeout: PAGE_TIMEOUT_MS });
  await globex.page.locator('#deliveries tbody', { hasText: 'No deliveries yet.' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(await globex.page.locator('#connection').textContent()).not.toContain(organizationUri);
  expect(await globex.page.getByRole('button', { name: 'Connect Calendly' }).isVisible()).toBe(true);
  expect(await globex.page.getByRole('button', { name: 'Send test webhook' }).isVisible()).toBe(false);
  expect(await globex.page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
  const globexDeliveries = (await system.get('/api/dashboard', GLOBEX.token)).body.recentDeliveries;
  expect(globexDeliveries.map((delivery: { id: string }) => delivery.id)).not.toContain(trackingId);
  expect(globex.pageErrors).toEqual([]);
  await phone.close();

  // Disconnect, after confirming.
  const confirmations: string[] = [];
  page.once('dialog', (dialog) => {
    confirmations.push(dialog.message());
    void dialog.accept();
  });
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await panelIn(page, 'disconnected').waitFor({ timeout: SET_UP_TIMEOUT_MS });
  expect(confirmations).toEqual([expect.stringContaining('Disconnect Calendly?')]);
  expect(await status.textContent()).toContain('Disconnected');
  expect(await page.getByRole('button', { name: 'Reconnect' }).isVisible()).toBe(true);
  expect(await page.getByRole('button', { name: 'Send test webhook' }).isVisible()).toBe(false);
  expect(await page.locator('#connection-webhook').textContent()).toContain('Not active');
  expect((await system.get('/api/connection', ACME.token)).body.connection.status).toBe('disconnected');
  expect(pageErrors).toEqual([]);
  await context.close();
}, 300_000);
