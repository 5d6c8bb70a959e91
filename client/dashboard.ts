/**
 * The dashboard page's script (bundled by scripts/dev/bundle-dashboard.ts into the page's dashboard.js): renders
 * GET /api/dashboard and reads it again whenever the live client (src/receiver/dashboard/live-client.ts) receives an
 * event, so counts and lists follow every change. The token comes from the page's own fragment (`/#token=`), and the
 * Calendly connection panel (connection-panel.ts) puts it back there after a connect; the websocket is opened with a
 * single-use ticket bought with it, never with the token in its URL. Every value is set as text,
 * never as HTML: names and answers come from invitees.
 */
import type { Json } from '../src/broadcaster/protocol';
import type { Dashboard } from '../src/receiver/dashboard/dashboard-data';
import type { BusinessFigures } from '../src/database/business-counters';
import { LiveClient, type StateChange } from '../src/receiver/dashboard/live-client';
import { renderBookingsChart } from './bookings-chart';
import { ConnectionPanel, pageQuery } from './connection-panel';
import { DeliveryLog } from './delivery-log';
import { money, when } from './format';

type DashboardData = Json<Dashboard>;

const { query, authorization } = pageQuery();
const token = query.get('token') ?? '';
/** Days of the business counters start at midnight where the viewer is. */
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
// Delivery outcomes change without an event, so the page also reads the data every so often.
const REFRESH_EVERY_MS = 15_000;
const PERIODS = [
  ['today', 'Today'],
  ['last7Days', 'Last 7 days'],
  ['last30Days', 'Last 30 days'],
  ['range', 'Chosen period'],
] as const;

let reading: Promise<void> | undefined;
let readAgain = false;

async function refresh(): Promise<void> {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = (async () => {
    do {
      readAgain = false;
      const response = await fetch(`/api/dashboard?${dashboardQuery()}`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status === 401) live.stop();
      if (!response.ok) throw new Error(`GET /api/dashboard answered ${response.status}`);
      render((await response.json()) as DashboardData);
    } while (readAgain);
  })();
  try {
    await reading;
    showError(null);
  } catch (error) {
    showError((error as Error).message);
  } finally {
    reading = undefined;
  }
}

/** `tz`, and the chosen days as instants: from the first day's midnight to the midnight after the last day. */
function dashboardQuery(): URLSearchParams {
  const query = new URLSearchParams({ tz: timeZone });
  const from = input('#range-from').value;
  const to = input('#range-to').value;
  if (from && to) {
    const end = new Date(`${to}T00:00`);
    end.setDate(end.getDate() + 1);
    query.set('from', new Date(`${from}T00:00`).toISOString());
    query.set('to', end.toISOString());
  }
  return query;
}

function render(dashboard: DashboardData): void {
  const { counts } = dashboard;
  text('#count-booked', counts.booked);
  text('#count-canceled', counts.canceled);
  text('#count-rescheduled', counts.rescheduled);
  text('#count-no-show', counts.noShow);

  const periods = PERIODS.flatMap(([key, label]) => {
    const figures = dashboard.business[key];
    return figures ? [{ key, label, figures }] : [];
  });
  text('#business-timezone', dashboard.business.timezone);
  fillTable('#business', periods, 'No figures.', ({ label, figures }) => businessRow(label, figures), ({ key }) => key);
  // The chosen period's (else the last 30 days') event types and days.
  const chosen = dashboard.business.range ?? dashboard.business.last30Days;
  text('#event-types-period', dashboard.business.range ? 'the chosen period' : 'the last 30 days');
  fillTable('#event-types', chosen.byEventType, 'No meetings.', (type) => [
    cell(type.name ?? type.eventTypeUri),
    cell(type.booked),
    cell(type.held),
    cell(money(type.bookedRevenue)),
    cell(money(type.heldRevenue)),
  ]);
  renderBookingsChart(document.querySelector('#bookings-chart')!, document.querySelector('#bookings-chart-data')!, dashboard.business.daily.days);

  fillTable('#meetings', dashboard.upcomingMeetings, 'No upcoming meetings.', (meeting) => [
    cell(when(meeting.startTime)),
    cell(meeting.name ?? '—'),
    cell(`${meeting.invitee.name} <${meeting.invitee.email}>`),
    cell(meeting.nextReminder ? `${when(meeting.nextReminder.fireAt)} (${duration(meeting.nextReminder.offsetSeconds)} before)` : '—'),
    linkCell(meeting.workflowUrl, meeting.workflowId),
  ]);

  // The deliveries table is the delivery log's, read with its own filter.
  void deliveryLog.refresh();

  fillTable('#failed-reminders', dashboard.failedReminderWebhooks, 'None.', (reminder) => [
    cell(when(reminder.failedAt)),
    cell(`${when(reminder.fireAt)} (${duration(reminder.offsetSeconds)} before)`),
    cell(reminder.failure, 'outcome-failed'),
    cell(reminder.meetingId),
  ]);
}

function businessRow(label: string, figures: Json<BusinessFigures>): HTMLTableCellElement[] {
  const heldRate = figures.heldRate === null ? '—' : `${Math.round(figures.heldRate * 100)}% (${figures.held} held)`;
  const bookingRate = figures.bookingRate === null ? '—' : `${Math.round(figures.bookingRate * 100)}% (${figures.bookedFromForms} of ${figures.formSubmissions} forms)`;
  return [
    element('th', { scope: 'row' }, [document.createTextNode(label)]) as HTMLTableCellElement,
    metricCell('booked', figures.booked),
    metricCell('canceled', figures.canceled),
    metricCell('rescheduled', figures.rescheduled),
    metricCell('no-show', figures.noShow),
    metricCell('held-rate', heldRate),
    metricCell('booking-rate', bookingRate),
    metricCell('booked-revenue', money(figures.bookedRevenue)),
    metricCell('held-revenue', money(figures.heldRevenue)),
  ];
}

function metricCell(metric: string, value: string | number): HTMLTableCellElement {
  const node = cell(value);
  node.dataset.metric = metric;
  return node;
}

/**
 * Rows of cells under a table's head; each cell is labelled with its column's heading, which narrow screens show
 * beside the value (dashboard.css). `keyOf` names a row (`data-key`).
 */
function fillTable<Row>(
  selector: string,
  rows: readonly Row[],
  emptyText: string,
  cellsOf: (row: Row) => HTMLTableCellElement[],
  keyOf?: (row: Row) => string,
): void {
  const body = document.querySelector(`${selector} tbody`)!;
  const headings = [...document.querySelectorAll(`${selector} thead th`)].map((th) => th.textContent ?? '');
  if (!rows.length) {
    body.replaceChildren(element('tr', {}, [Object.assign(cell(emptyText, 'empty'), { colSpan: headings.length })]));
    return;
  }
  body.replaceChildren(
    ...rows.map((row) => {
      const cells = cellsOf(row);
      cells.forEach((node, index) => node.setAttribute('data-label', headings[index] ?? ''));
      const tr = element('tr', {}, cells);
      if (keyOf) tr.dataset.key = keyOf(row);
      return tr;
    }),
  );
}

function cell(content: string | number, className?: string): HTMLTableCellElement {
  return element('td', className ? { className } : {}, [document.createTextNode(String(content))]) as HTMLTableCellElement;
}

function linkCell(href: string, label: string): HTMLTableCellElement {
  const link = element('a', { href, target: '_blank', rel: 'noopener noreferrer' }, [document.createTextNode(label)]);
  return element('td', {}, [link]) as HTMLTableCellElement;
}

function element(tag: string, properties: object, children: Node[]): HTMLElement {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

function input(selector: string): HTMLInputElement {
  return document.querySelector<HTMLInputElement>(selector)!;
}

function text(selector: string, value: string | number): void {
  document.querySelector(selector)!.textContent = String(value);
}

function duration(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function showError(message: string | null): void {
  const node = document.querySelector<HTMLElement>('#error')!;
  node.hidden = !message;
  node.textContent = message ?? '';
}

/** The status is an aria-live region: screen readers announce each change of the connection. */
function showState({ state, retryInMs }: StateChange): void {
  const node = document.querySelector<HTMLElement>('#status')!;
  node.dataset.state = state;
  node.textContent = {
    connecting: 'Connecting…',
    live: 'Live',
    reconnecting: `Connection lost: reconnecting in ${Math.max(1, Math.round((retryInMs ?? 0) / 1000))} s…`,
    stopped: token ? 'Not connected: the token is not valid' : 'Not connected: open the dashboard as /#token=<API token>',
  }[state];
}

const deliveryLog = new DeliveryLog(token);
const connectionPanel = new ConnectionPanel(token, query.get('organization'), () => void refresh());
if (authorization) void connectionPanel.complete(authorization);

const websocketUrl = new URL('/ws', location.href);
websocketUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const live = new LiveClient({
  url: websocketUrl.toString(),
  token,
  createSocket: (url) => new WebSocket(url),
  onStateChange: showState,
  // Also after a reconnection: events may have been missed while it was down.
  onWelcome: () => {
    void refresh();
    void connectionPanel.refresh();
  },
  onEvent: (event) => {
    text('#last-event', `· last event #${event.id} ${event.type} at ${when(event.occurredAt)}`);
    void refresh();
    void connectionPanel.refresh();
  },
});

document.querySelector('#range')!.addEventListener('submit', (event) => {
  event.preventDefault();
  void refresh();
});
void refresh();
void connectionPanel.refresh();
live.start();
setInterval(() => {
  void refresh();
  void connectionPanel.refresh();
}, REFRESH_EVERY_MS);
