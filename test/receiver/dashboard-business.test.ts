/**
 * The dashboard's revenue and its bookings-per-day chart in real headless Chromium: paid meetings booked in the fake
 * Calendly reach the page through the webhook and the live events, the booked revenue rises per currency (and falls
 * with a cancel) without a reload, the chart writes the numbers GET /api/business answers, and another organization's
 * page shows nothing of them.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { saveBookings } from '../../src/database/bookings';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { booking, newEmail, newOrganization } from '../database/database';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

/** Bound to the fake Calendly's organization, whose bookings reach the receiver through the webhook. */
const TOKEN_A = 'business-organization-a-token-0123';
const ORGANIZATION_B = newOrganization();
const TOKEN_B = 'business-organization-b-token-0123';
const TIME_ZONE = 'Europe/Berlin';

let system: TestSystem;
let browser: Browser;

beforeAll(async () => {
  system = await startTestSystem({
    env: (fake) => ({ API_TOKENS: `${API_TOKEN},${TOKEN_A}:${fake.organizationUri},${TOKEN_B}:${ORGANIZATION_B}` }),
  });
  await system.subscribeReceiver();
  // Organization B has a paid meeting of its own, in pounds, booked now.
  const paid = booking({ email: newEmail('business-b'), at: new Date().toISOString(), startTime: new Date(Date.now() + 86_400_000).toISOString() });
  paid.invitee.payment = { external_id: 'ch_b', provider: 'stripe', amount: 75, currency: 'GBP', terms: null, successful: true };
  await saveBookings(system.orm.em.fork(), [paid], ORGANIZATION_B, PERSONAL_TOKEN_CONNECTION_ID);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});
afterAll(async () => {
  await browser?.close();
  await system.stop();
});

const hoursFromNow = (hours: number) => new Date(Math.ceil(Date.now() / 60_000) * 60_000 + hours * 3_600_000).toISOString();

async function openDashboard(token: string): Promise<{ page: Page; pageErrors: Error[] }> {
  const context = await browser.newContext({ timezoneId: TIME_ZONE, locale: 'en-US' });
  const page = await context.newPage();
  const pageErrors: Error[] = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${system.receiverUrl}/#token=${encodeURIComponent(token)}`);
  await page.locator('#status[data-state="live"]').waitFor({ timeout: 10_000 });
  await page.locator('#business tr[data-key="today"]').waitFor({ timeout: 10_000 });
  return { page, pageErrors };
}

const metric = (page: Page, period: string, name: string) => page.locator(`#business tr[data-key="${period}"] td[data-metric="${name}"]`);

/** What the chart writes for each day: the numbers above the bars (none above an empty bar), and its table's rows. */
interface ChartOnPage {
  days: { day: string; labels: Record<string, string>; title: string }[];
  rows: string[][];
  legend: string[];
  fills: string[];
}

/** Read in the page (a string: the test code has no DOM types). */
function chartOf(page: Page): Promise<ChartOnPage> {
  return page.evaluate(`({
    days: [...document.querySelectorAll('#bookings-chart g[data-day]')].map((group) => ({
      day: group.dataset.day,
      labels: Object.fromEntries([...group.querySelectorAll('text[data-series]')].map((text) => [text.getAttribute('data-series'), text.textContent])),
      title: group.querySelector('title').textContent,
    })),
    rows: [...document.querySelectorAll('#bookings-chart-data tbody tr')].map((row) => [...row.children].map((cell) => cell.textContent)),
    legend: [...document.querySelectorAll('#bookings-chart .chart-legend li')].map((item) => item.textContent.trim()),
    fills: [...new Set([...document.querySelectorAll('#bookings-chart g[data-day] rect')].map((rect) => rect.getAttribute('data-series') + ' ' + rect.getAttribute('fill')))],
  })`);
}

it("shows organization A's booked revenue per currency rise and fall live, and a chart of the read API's numbers", async () => {
  const { page, pageErrors } = await openDashboard(TOKEN_A);
  await metric(page, 'today', 'booked-revenue').filter({ hasText: '—' }).waitFor({ timeout: 10_000 });

  await system.fake.bookMeeting({ email: newEmail('paid-usd'), startTime: hoursFromNow(30), payment: { amount: 150, currency: 'USD' } });
  const { invitee: euros } = await system.fake.bookMeeting({ email: newEmail('paid-eur'), startTime: hoursFromNow(50), payment: { amount: '80.50', currency: 'EUR', provider: 'paypal' } });
  // Side by side, never converted; the page reads again on each live event.
  await metric(page, 'today', 'booked-revenue').filter({ hasText: /EUR\s80\.50 · USD\s150\.00/ }).waitFor({ timeout: 30_000 });
  await page.locator('#event-types tbody tr', { hasText: /EUR\s80\.50 · USD\s150\.00/ }).waitFor({ timeout: 10_000 });

  const business = (await system.get(`/api/business?tz=${encodeURIComponent(TIME_ZONE)}`, TOKEN_A)).body;
  expect(business.today.bookedRevenue).toEqual([{ currency: 'EUR', amount: 80.5 }, { currency: 'USD', amount: 150 }]);
  const chart = await chartOf(page);
  expect(chart.days.map((day) => day.day)).toEqual(business.daily.days.map((day: { day: string }) => day.day));
  type ApiDay = { day: string; booked: number; canceled: number; noShow: number; bookedRevenue: { currency: string; amount: number }[] };
  const expected = business.daily.days.map((day: ApiDay) => ({
    day: day.day,
    labels: Object.fromEntries([
      ...(['booked', 'canceled', 'noShow'] as const).filter((series) => day[series] > 0).map((series) => [series, String(day[series])]),
      ...day.bookedRevenue.map(({ currency, amount }) => [`revenue-${currency}`, String(amount)]),
    ]),
  }));
  expect(chart.days.map(({ day, labels }) => ({ day, labels }))).toEqual(expected);
  const today = business.daily.days.at(-1) as ApiDay;
  expect(today.booked).toBe(2);
  expect(chart.rows.at(-1)).toEqual([today.day, '2', '0', '0', expect.stringMatching(/^EUR\s80\.50 · USD\s150\.00$/)]);
  expect(chart.days.at(-1)?.title).toMatch(new RegExp(`^${today.day}: 2 booked, 0 canceled, 0 no-show; booked revenue EUR\\s80\\.50 · USD\\s150\\.00$`));

  // Readable without colour: a text legend, and each series its own fill pattern.
  expect(chart.legend).toEqual(['Booked', 'Canceled', 'No-show', 'Booked revenue (one band per currency)']);
  expect(chart.fills.sort()).toEqual(['booked url(#chart-solid)', 'canceled url(#chart-hatched)', 'noShow url(#chart-dotted)', 'revenue-EUR url(#chart-cross)', 'revenue-USD url(#chart-cross)']);
  expect(await page.locator('#bookings-chart svg[role="img"] > title').textContent()).toContain('Bookings per day');

  // A cancel takes its amount off the booked revenue, and the chart counts it on the day.
  await system.fake.cancelInvitee(euros.uri);
  await metric(page, 'today', 'booked-revenue').filter({ hasText: /^USD\s150\.00$/ }).waitFor({ timeout: 30_000 });
  await page.locator(`#bookings-chart g[data-day="${today.day}"] text[data-series="canceled"]`, { hasText: '1' }).waitFor({ timeout: 10_000 });
  expect((await chartOf(page)).rows.at(-1)).toEqual([today.day, '2', '1', '0', expect.stringMatching(/^USD\s150\.00$/)]);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});

it("shows organization B its own revenue and chart, nothing of A's", async () => {
  const { page, pageErrors } = await openDashboard(TOKEN_B);
  await metric(page, 'today', 'booked-revenue').filter({ hasText: /^GBP\s75\.00$/ }).waitFor({ timeout: 10_000 });
  await metric(page, 'last30Days', 'booked-revenue').filter({ hasText: /^GBP\s75\.00$/ }).waitFor();
  const chart = await chartOf(page);
  expect(chart.fills.filter((fill) => fill.startsWith('revenue-'))).toEqual(['revenue-GBP url(#chart-cross)']);
  expect(chart.days.flatMap((day) => Object.keys(day.labels))).toEqual(['booked', 'revenue-GBP']);
  const text = await page.locator('body').textContent();
  expect(text).not.toMatch(/USD|EUR/);
  expect((await system.get('/api/business', TOKEN_B)).body.last30Days.bookedRevenue).toEqual([{ currency: 'GBP', amount: 75 }]);
  expect(pageErrors).toEqual([]);
  await page.context().close();
});
