/**
 * The dashboard's delivery log in real headless Chromium: filtered to the failed deliveries, a delivery that failed
 * for good (Calendly refused the token) is replayed with its Replay button once the token works again, and the page
 * shows it processed, found by its invitee's email, with its meeting; another organization's page shows none of it.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { API_TOKEN, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { deliveryOutcome } from '../support/delivery-outcome';

const OWN_TOKEN = 'delivery-log-own-token-0123456789';
const OTHER_TOKEN = 'delivery-log-other-token-012345678';
const OTHER_ORGANIZATION = 'https://api.calendly.com/organizations/ORG-DELIVERY-LOG-OTHER';
/** A page step may take long on a loaded machine. */
const PAGE_TIMEOUT_MS = 40_000;

let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ API_TOKENS: `${API_TOKEN},${OWN_TOKEN}:${fake.organizationUri},${OTHER_TOKEN}:${OTHER_ORGANIZATION}` }),
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
afterAll(async () => {
  await browser?.close();
  await system.stop();
});

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** Books in the fake Calendly and delivers it; `revoked`: Calendly refuses the token for that one delivery. */
async function bookAndDeliver(email: string, revoked: boolean): Promise<{ trackingId: string; workflowId: string; inviteeUri: string }> {
  const { invitee } = await system.fake.bookMeeting({ email, name: 'Replayed Invitee', startTime: inDays(9) }, { deliver: false });
  const { body, signature } = system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY);
  if (revoked) system.fake.failNext('/scheduled_events', { status: 401, count: 1 });
  const response = await system.deliver(body, { signature });
  expect(response.status).toBe(202);
  await expect(deliveryOutcome(system, response.body.trackingId)).resolves.toMatchObject({ outcome: revoked ? 'failed' : 'processed' });
  return { trackingId: response.body.trackingId, workflowId: response.body.workflowId, inviteeUri: invitee.uri };
}

async function open(token: string): Promise<{ page: Page; pageErrors: Error[] }> {
  const page = await browser.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(token)}`);
  await page.locator('#status[data-state="live"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
  return { page, pageErrors };
}

it('filters the log to the failed deliveries, replays one, and shows it processed with its meeting', async () => {
  const processedEmail = `kept-${Date.now()}@example.com`;
  const failedEmail = `replayed-${Date.now()}@example.com`;
  const processed = await bookAndDeliver(processedEmail, false);
  const failed = await bookAndDeliver(failedEmail, true);

  const { page, pageErrors } = await open(OWN_TOKEN);
  const rowOf = (id: string) => page.locator(`#deliveries tbody tr[data-id="${id}"]`);
  await rowOf(processed.trackingId).waitFor({ timeout: PAGE_TIMEOUT_MS });
  // Only a failed delivery has a Replay button.
  expect(await rowOf(processed.trackingId).locator('button').count()).toBe(0);

  await page.locator('#delivery-filter select[name="outcome"]').selectOption('failed');
  await page.locator('#delivery-filter button[type="submit"]').click();
  await rowOf(processed.trackingId).waitFor({ state: 'detached', timeout: PAGE_TIMEOUT_MS });
  const failedRow = rowOf(failed.trackingId);
  expect(await failedRow.locator('td.outcome-failed').textContent()).toBe('failed');
  expect(await failedRow.textContent()).toContain('Calendly rejected the API token (401)');
  expect(await page.locator('#deliveries tbody tr').count()).toBe(1);

  // The token works again: Replay feeds it through, and the log follows it to its outcome.
  await failedRow.locator('button', { hasText: 'Replay' }).click();
  await page.locator('#delivery-log-result', { hasText: `Replayed: ${failed.workflowId} is processing it` }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  await page.locator('#deliveries tbody', { hasText: 'No deliveries match.' }).waitFor({ timeout: PAGE_TIMEOUT_MS });

  await page.locator('#delivery-filter select[name="outcome"]').selectOption('');
  await page.locator('#delivery-filter input[name="email"]').fill(failedEmail.toUpperCase());
  await page.locator('#delivery-filter button[type="submit"]').click();
  await rowOf(failed.trackingId).locator('td.outcome-processed').waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(await page.locator('#deliveries tbody tr').count()).toBe(1);
  expect(await rowOf(failed.trackingId).locator('button').count()).toBe(0);
  await page.locator('#meetings tbody tr', { hasText: failedEmail }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(pageErrors).toEqual([]);
  await page.close();

  // Another organization's dashboard shows none of these deliveries, and so no button to replay them.
  const other = await open(OTHER_TOKEN);
  await other.page.locator('#deliveries tbody', { hasText: 'No deliveries yet.' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
  expect(await other.page.locator('#deliveries button').count()).toBe(0);
  expect(other.pageErrors).toEqual([]);
  await other.page.close();
}, 180_000);
