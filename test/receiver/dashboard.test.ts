/**
 * The live dashboard: GET / and GET /api/dashboard behind an API token, and the page in real headless Chromium
 * showing a meeting booked after it was opened, without a reload, also on a phone-sized screen.
 */
import { chromium, type Browser } from 'playwright-core';
import type { WebhookEventName } from '../../src/calendly/schemas';
import { meetingWorkflowId } from '../../src/workflow-ids';
import { workflowUrl } from '../../src/temporal/web-ui-links';
import { API_TOKEN, SIGNING_KEY, eventually, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

const ORGANIZATION = 'https://api.calendly.com/organizations/ORG-DASHBOARD';
const BOUND_TOKEN = 'dashboard-bound-token-0123456789';
/** Bound to this test's fake Calendly organization: other test files' meetings in the shared database stay out of view. */
const OWN_TOKEN = 'dashboard-own-organization-token-0123';

let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ API_TOKENS: `${API_TOKEN},${BOUND_TOKEN}:${ORGANIZATION},${OWN_TOKEN}:${fake.organizationUri}` }),
  });
  // The fake Calendly then delivers the bookings the browser tests make to the receiver, as Calendly would.
  await system.subscribeReceiver();
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
afterAll(async () => {
  await browser?.close();
  await system.stop();
});

const minutesFromNow = (minutes: number) => new Date(Math.ceil(Date.now() / 60_000) * 60_000 + minutes * 60_000).toISOString();
const dashboard = async (token = OWN_TOKEN) => (await system.get('/api/dashboard', token)).body;
const linkTo = (workflowId: string) => workflowUrl(system.config.temporal, workflowId);

/** Sends Calendly's delivery for the invitee through the receiver and waits until its workflow is done. */
async function deliver(event: WebhookEventName, inviteeUri: string): Promise<string> {
  const { body, signature } = system.fake.webhookDelivery(event, inviteeUri, SIGNING_KEY);
  const response = await system.deliver(body, { signature });
  await deliveryOutcome(system, response.body.trackingId);
  return response.body.workflowId;
}

async function book(email: string, startTime: string): Promise<{ inviteeUri: string; workflowId: string }> {
  const { invitee } = await system.fake.bookMeeting({ email, name: 'Dashboard Test', startTime }, { deliver: false });
  return { inviteeUri: invitee.uri, workflowId: await deliver('invitee.created', invitee.uri) };
}

it('serves the page, which holds no data, without a token, and answers its data only with one', async () => {
  const page = await fetch(`${system.receiverUrl}/`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(200);
  expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  expect(await system.get('/api/dashboard')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  expect(await system.get('/api/dashboard', 'not-a-configured-token-123')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
});

it('reports counts, upcoming meetings with their next reminder, and recent deliveries with Temporal links', async () => {
  const before = (await dashboard()).counts;
  const soonStart = minutesFromNow(30);
  const soon = await book(`soon-${Date.now()}@example.com`, soonStart);
  const canceled = await book(`canceled-${Date.now()}@example.com`, minutesFromNow(3 * 24 * 60));
  const moved = await book(`moved-${Date.now()}@example.com`, minutesFromNow(4 * 24 * 60));
  const absent = await book(`absent-${Date.now()}@example.com`, minutesFromNow(5 * 24 * 60));

  await system.fake.cancelInvitee(canceled.inviteeUri, {}, { deliver: false });
  await deliver('invitee.canceled', canceled.inviteeUri);
  const { newInvitee } = await system.fake.rescheduleInvitee(moved.inviteeUri, { startTime: minutesFromNow(6 * 24 * 60) }, { deliver: false });
  await deliver('invitee.canceled', moved.inviteeUri);
  await deliver('invitee.created', newInvitee.uri);
  await system.fake.markNoShow(absent.inviteeUri, { deliver: false });
  await deliver('invitee_no_show.created', absent.inviteeUri);

  const body = await dashboard();
  expect(body.counts).toEqual({
    booked: before.booked + 5,
    canceled: before.canceled + 1,
    rescheduled: before.rescheduled + 1,
    noShow: before.noShow + 1,
  });
  const upcoming = body.upcomingMeetings.map((meeting: { workflowId: string }) => meeting.workflowId);
  expect(upcoming).toEqual(expect.arrayContaining([meetingWorkflowId(soon.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID), meetingWorkflowId(newInvitee.uri, PERSONAL_TOKEN_CONNECTION_ID)]));
  expect(upcoming).not.toContain(meetingWorkflowId(canceled.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID));
  expect(upcoming).not.toContain(meetingWorkflowId(moved.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID));
  expect((await dashboard(API_TOKEN)).recentDeliveries).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ workflowId: soon.workflowId, eventType: 'invitee.created', outcome: 'processed', workflowUrl: linkTo(soon.workflowId) }),
      expect.objectContaining({ eventType: 'invitee.canceled', outcome: 'processed' }),
    ]),
  );

  // Reminders are planned by the meeting's own workflow; the 24 h and 1 h ones of a meeting in 30 minutes are skipped.
  const soonMeeting = await eventually(async () => {
    const meeting = (await dashboard()).upcomingMeetings.find((m: { workflowId: string }) => m.workflowId === meetingWorkflowId(soon.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID));
    return meeting?.nextReminder ? meeting : undefined;
  }, 15_000, 'the reminders of the meeting in 30 minutes');
  expect(soonMeeting).toMatchObject({
    startTime: soonStart,
    invitee: { email: expect.stringMatching(/^soon-/), name: 'Dashboard Test' },
    nextReminder: { offsetSeconds: 15 * 60, fireAt: new Date(Date.parse(soonStart) - 15 * 60_000).toISOString() },
    workflowUrl: linkTo(meetingWorkflowId(soon.inviteeUri, PERSONAL_TOKEN_CONNECTION_ID)),
  });
});

it('shows a token bound to an organization only its meetings and its own deliveries', async () => {
  const { inviteeUri } = await book(`bound-${Date.now()}@example.com`, minutesFromNow(60));
  await system.orm.em.fork().execute('update meetings set organization = ? where invitee_uri = ?', [ORGANIZATION, inviteeUri]);
  const body = await dashboard(BOUND_TOKEN);
  expect(body.organization).toBe(ORGANIZATION);
  expect(body.counts).toEqual({ booked: 1, canceled: 0, rescheduled: 0, noShow: 0 });
  const bookedOnly = { booked: 1, canceled: 0, rescheduled: 0, noShow: 0, held: 0, heldRate: null, bookedRevenue: [], heldRevenue: [] };
  expect(body.business).toMatchObject({ timezone: 'UTC', today: bookedOnly, last7Days: bookedOnly, last30Days: bookedOnly, range: null });
  expect(body.upcomingMeetings.map((meeting: { workflowId: string }) => meeting.workflowId)).toEqual([meetingWorkflowId(inviteeUri, PERSONAL_TOKEN_CONNECTION_ID)]);
  // Its meeting was moved to it by hand: every delivery of this file belongs to another organization or to none.
  expect(body.recentDeliveries).toEqual([]);
});

it('shows a meeting booked while the page is open, without a reload (headless Chromium)', async () => {
  const page = await browser.newPage();
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  // What reaches the server: the token must be in none of the addresses (the fragment is never sent).
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url().split('#')[0]));
  page.on('websocket', (websocket) => requested.push(websocket.url()));

  await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(OWN_TOKEN)}`);
  await page.locator('#status[data-state="live"]').waitFor({ timeout: 10_000 });
  await page.locator('#count-booked', { hasText: /^\d+$/ }).waitFor({ timeout: 10_000 });
  expect(requested.filter((url) => url.includes(OWN_TOKEN))).toEqual([]);
  expect(requested).toContainEqual(expect.stringMatching(/\/ws\?ticket=cbt_/));
  // This organization's account is the deployment's CALENDLY_API_TOKEN: the panel shows that connection, whose only
  // button is the test webhook (it follows the environment: no connect or disconnect here).
  await page.locator('#connection[data-status="connected"]').waitFor({ timeout: 10_000 });
  const visibleButtons = await page.locator('#connection button').evaluateAll((buttons) => buttons.filter((button) => button.checkVisibility()).map((button) => button.textContent));
  expect(visibleButtons).toEqual(['Send test webhook']);
  const bookedBefore = Number(await page.locator('#count-booked').textContent());

  const email = `live-${Date.now()}@example.com`;
  expect(await page.locator('#meetings tbody').textContent()).not.toContain(email);
  const { invitee } = await system.fake.bookMeeting({ email, name: 'Grace Hopper', startTime: minutesFromNow(120) });

  const row = page.locator('#meetings tbody tr', { hasText: email });
  await row.waitFor({ timeout: 30_000 });
  expect(await row.textContent()).toContain('Grace Hopper');
  expect(await row.locator('a').getAttribute('href')).toBe(linkTo(meetingWorkflowId(invitee.uri, PERSONAL_TOKEN_CONNECTION_ID)));
  await page.locator('#last-event', { hasText: 'meeting.created' }).waitFor({ timeout: 10_000 });
  await page.locator('#count-booked', { hasText: String(bookedBefore + 1) }).waitFor({ timeout: 10_000 });

  expect(navigations).toBe(1);
  expect(pageErrors).toEqual([]);
  await page.close();
});

it('answers the business counters for a time zone and a chosen period, and 400 for a wrong one', async () => {
  const { inviteeUri } = await book(`range-${Date.now()}@example.com`, minutesFromNow(90));
  const em = system.orm.em.fork();
  await em.execute('update meetings set organization = ? where invitee_uri = ?', [ORGANIZATION, inviteeUri]);
  // Every meeting of this organization was booked by this file, within the last hour.
  const [{ count }] = await em.execute<{ count: number }[]>('select count(*)::int as count from meetings where organization = ?', [ORGANIZATION]);
  const from = new Date(Date.now() - 3_600_000).toISOString().replace('Z', '+00:00');
  const to = new Date(Date.now() + 60_000).toISOString();
  const { status, body } = await system.get(`/api/dashboard?tz=Europe/Berlin&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, BOUND_TOKEN);
  expect(status).toBe(200);
  expect(body.business.timezone).toBe('Europe/Berlin');
  expect(body.business.range).toMatchObject({ from: new Date(from).toISOString(), to, booked: count, canceled: 0, held: 0, heldRate: null });
  expect(count).toBeGreaterThanOrEqual(1);

  const wrong = ['tz=Mars/Olympus', 'tz=%2B05:00', 'tz=', `from=${encodeURIComponent(from)}`, `from=${encodeURIComponent(to)}&to=${encodeURIComponent(from)}`, 'from=yesterday&to=today'];
  for (const query of wrong) {
    const refused = await system.get(`/api/dashboard?${query}`, BOUND_TOKEN);
    expect({ query, status: refused.status, code: refused.body.code }).toEqual({ query, status: 400, code: 'invalid_query' });
  }
});

it('works on a phone: tables become labelled rows, the connection is announced, the counters follow a booking live', async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));

  await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(OWN_TOKEN)}`);
  const status = page.locator('#status');
  expect(await status.getAttribute('role')).toBe('status');
  expect(await status.getAttribute('aria-live')).toBe('polite');
  await page.locator('#status[data-state="live"]', { hasText: 'Live' }).waitFor({ timeout: 10_000 });
  await page.locator('#business-timezone', { hasText: 'Europe/Berlin' }).waitFor({ timeout: 10_000 });

  const bookedToday = page.locator('#business tr[data-key="today"] td[data-metric="booked"]');
  await bookedToday.waitFor({ timeout: 10_000 });
  const before = Number(await bookedToday.textContent());
  const email = `phone-${Date.now()}@example.com`;
  await system.fake.bookMeeting({ email, name: 'Katherine Johnson', startTime: minutesFromNow(180) });
  await page.locator('#business tr[data-key="today"] td[data-metric="booked"]', { hasText: new RegExp(`^${before + 1}$`) }).waitFor({ timeout: 30_000 });
  await page.locator('#business tr[data-key="last30Days"] td[data-metric="booked"]').waitFor();

  // Each meeting is a card of labelled values, and nothing is wider than the screen.
  const row = page.locator('#meetings tbody tr', { hasText: email });
  await row.waitFor({ timeout: 30_000 });
  const cells = await row.locator('td').evaluateAll((tds) =>
    tds.map((td) => ({ label: td.getAttribute('data-label'), display: td.ownerDocument.defaultView!.getComputedStyle(td).display })),
  );
  expect(cells.map((c) => c.label)).toEqual(['Start', 'Meeting', 'Invitee', 'Next reminder', 'Workflow']);
  expect(cells.every((c) => c.display !== 'table-cell')).toBe(true);
  expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
  expect(await page.locator('#meetings thead').boundingBox()).toMatchObject({ width: 1, height: 1 });
  expect(pageErrors).toEqual([]);
  await context.close();
});
