// Renders GET /api/dashboard and reads it again whenever the websocket announces an event. The token comes from the
// page's own address (?token=). Every value is set as text, never as HTML: names and answers come from invitees.
'use strict';

const token = new URLSearchParams(location.search).get('token') || '';
// Delivery outcomes change without an event, so the page also reads the data every so often.
const REFRESH_EVERY_MS = 15000;
const MAX_RECONNECT_DELAY_MS = 30000;

let lastEventId = null;
let reading = null;
let readAgain = false;

async function refresh() {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = (async () => {
    do {
      readAgain = false;
      const response = await fetch('/api/dashboard', { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`GET /api/dashboard answered ${response.status}`);
      render(await response.json());
    } while (readAgain);
  })();
  try {
    await reading;
    showError(null);
  } catch (error) {
    showError(error.message);
  } finally {
    reading = null;
  }
}

function render(dashboard) {
  const { counts } = dashboard;
  text('#count-booked', counts.booked);
  text('#count-canceled', counts.canceled);
  text('#count-rescheduled', counts.rescheduled);
  text('#count-no-show', counts.noShow);

  fillTable('#meetings', dashboard.upcomingMeetings, 'No upcoming meetings.', (meeting) => [
    cell(when(meeting.startTime)),
    cell(meeting.name || '—'),
    cell(`${meeting.invitee.name} <${meeting.invitee.email}>`),
    cell(meeting.nextReminder ? `${when(meeting.nextReminder.fireAt)} (${duration(meeting.nextReminder.offsetSeconds)} before)` : '—'),
    linkCell(meeting.workflowUrl, meeting.workflowId),
  ]);

  const deliveries = dashboard.recentDeliveries;
  fillTable('#deliveries', deliveries || [], deliveries ? 'No deliveries yet.' : 'Not shown to a token bound to an organization.', (delivery) => [
    cell(when(delivery.receivedAt)),
    cell(delivery.eventType || '—'),
    cell(delivery.outcome, `outcome-${delivery.outcome}`),
    cell([delivery.detail, delivery.outcome === 'failed' ? delivery.inviteeUri : null].filter(Boolean).join(' · ')),
    delivery.workflowUrl ? linkCell(delivery.workflowUrl, delivery.workflowId) : cell('—'),
  ]);

  fillTable('#failed-reminders', dashboard.failedReminderWebhooks || [], 'None.', (reminder) => [
    cell(when(reminder.failedAt)),
    cell(`${when(reminder.fireAt)} (${duration(reminder.offsetSeconds)} before)`),
    cell(reminder.failure, 'outcome-failed'),
    cell(reminder.meetingId),
  ]);
}

function fillTable(selector, rows, emptyText, cellsOf) {
  const body = document.querySelector(`${selector} tbody`);
  const columns = document.querySelectorAll(`${selector} thead th`).length;
  body.replaceChildren(
    ...(rows.length
      ? rows.map((row) => element('tr', {}, cellsOf(row)))
      : [element('tr', {}, [Object.assign(cell(emptyText, 'empty'), { colSpan: columns })])]),
  );
}

function cell(content, className) {
  return element('td', className ? { className } : {}, [document.createTextNode(String(content))]);
}

function linkCell(href, label) {
  const link = element('a', { href, target: '_blank', rel: 'noopener noreferrer' }, [document.createTextNode(label)]);
  return element('td', {}, [link]);
}

function element(tag, properties, children) {
  const node = Object.assign(document.createElement(tag), properties);
  node.append(...children);
  return node;
}

function text(selector, value) {
  document.querySelector(selector).textContent = String(value);
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

function showError(message) {
  const node = document.querySelector('#error');
  node.hidden = !message;
  node.textContent = message || '';
}

function setStatus(state, label) {
  const node = document.querySelector('#status');
  node.dataset.state = state;
  node.textContent = label;
}

function connect(retryDelayMs) {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', token);
  if (lastEventId) url.searchParams.set('lastEventId', lastEventId);
  const socket = new WebSocket(url);
  let opened = false;
  socket.addEventListener('message', (message) => {
    const event = JSON.parse(message.data);
    if (event.type === 'welcome') {
      opened = true;
      lastEventId = event.lastEventId;
      setStatus('live', 'Live');
    } else {
      lastEventId = event.id;
      text('#last-event', `· last event #${event.id} ${event.type} at ${when(event.occurredAt)}`);
    }
    // Also after a welcome: events may have been missed while the connection was down.
    void refresh();
  });
  socket.addEventListener('close', () => {
    const delay = opened ? 1000 : Math.min(retryDelayMs * 2, MAX_RECONNECT_DELAY_MS);
    setStatus('reconnecting', `Reconnecting in ${Math.round(delay / 1000)} s…`);
    setTimeout(() => connect(delay), delay);
  });
}

void refresh();
connect(500);
setInterval(() => void refresh(), REFRESH_EVERY_MS);
