/**
 * The dashboard's live client (src/receiver/dashboard/live-client.ts) against the real receiver and broadcaster,
 * through a TCP proxy that drops the connection: it backs off while the receiver cannot be reached, resumes with
 * ?lastEventId= and ends up with every event of its organization exactly once, in order.
 */
import WebSocket from 'ws';
import { LiveClient, type StateChange } from '../../src/receiver/dashboard/live-client';
import type { EventMessage } from '../../src/broadcaster/protocol';
import { commitEvent } from '../support/event-stream';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

const ORGANIZATION = 'https://api.calendly.com/organizations/ORG-LIVE-CLIENT';
const OTHER_ORGANIZATION = 'https://api.calendly.com/organizations/ORG-LIVE-CLIENT-OTHER';
const BOUND_TOKEN = 'live-client-bound-token-0123456789';
const BACK_OFF = { initialDelayMs: 100, maxDelayMs: 400 };

let system: TestSystem;
let proxy: TcpProxy;

beforeAll(async () => {
  system = await startTestSystem({ env: { API_TOKENS: `${API_TOKEN},${BOUND_TOKEN}:${ORGANIZATION}` } });
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(system.receiverUrl).port));
});
afterAll(async () => {
  await proxy?.close();
  await system?.stop();
});

const commit = (organization: string) => commitEvent(system.orm, { type: 'meeting.created', organization });
const until = (check: () => boolean, what: string) => eventually(() => Promise.resolve(check() || undefined), 15_000, what);

it('resumes after a dropped connection with no gap and no duplicate, backing off while the receiver is unreachable', async () => {
  const urls: string[] = [];
  const changes: StateChange[] = [];
  const events: EventMessage[] = [];
  const client = new LiveClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    token: BOUND_TOKEN,
    backOff: BACK_OFF,
    createSocket: (url) => {
      urls.push(url);
      return new WebSocket(url);
    },
    onEvent: (event) => events.push(event),
    onStateChange: (change) => changes.push(change),
  });
  const received = (ids: string[]) => until(() => ids.every((id) => events.some((event) => event.id === id)), `events ${ids.join(', ')}`);

  client.start();
  expect(client.state).toBe('connecting');
  await until(() => client.state === 'live', 'the first welcome');
  const before = [await commit(ORGANIZATION), await commit(OTHER_ORGANIZATION), await commit(ORGANIZATION)];
  await received([before[0], before[2]]);

  proxy.cut();
  await until(() => client.state === 'reconnecting', 'the drop to be noticed');
  const missed = [await commit(ORGANIZATION), await commit(OTHER_ORGANIZATION), await commit(ORGANIZATION), await commit(ORGANIZATION)];
  // Attempts while the proxy refuses connections fail, each waiting longer, up to the cap.
  await until(() => changes.filter((change) => change.state === 'reconnecting').length >= 4, 'four retries');
  proxy.restore();
  await until(() => client.state === 'live', 'the connection to come back');
  await received([missed[0], missed[2], missed[3]]);
  const live = await commit(ORGANIZATION);
  await received([live]);
  client.stop();

  expect(events.map((event) => event.id)).toEqual([before[0], before[2], missed[0], missed[2], missed[3], live]);
  expect(events.every((event) => event.organization === ORGANIZATION && event.type === 'meeting.created')).toBe(true);
  // Every attempt opened with a ticket of its own, never with the token in the URL.
  expect(urls.filter((url) => url.includes(BOUND_TOKEN))).toEqual([]);
  expect(new Set(urls.map((url) => new URL(url).searchParams.get('ticket'))).size).toBe(urls.length);
  // Every reconnection resumed after the last event received before the drop.
  expect(new URL(urls[0]).searchParams.get('lastEventId')).toBeNull();
  for (const url of urls.slice(1)) expect(new URL(url).searchParams.get('lastEventId')).toBe(before[2]);

  const delays = changes.filter((change) => change.state === 'reconnecting').map((change) => change.retryInMs!);
  delays.forEach((delay, attempt) => {
    const step = Math.min(BACK_OFF.maxDelayMs, BACK_OFF.initialDelayMs * 2 ** attempt);
    expect({ attempt, delay, atLeast: delay >= step / 2, atMost: delay <= step }).toEqual({ attempt, delay, atLeast: true, atMost: true });
  });
  expect(changes.map((change) => change.state)).toEqual(['live', ...delays.map(() => 'reconnecting'), 'live', 'stopped']);
  expect(client.state).toBe('stopped');
});

it('stops for good, without opening a websocket, when its token is refused a ticket', async () => {
  const urls: string[] = [];
  const client = new LiveClient({
    url: system.websocketUrl,
    token: 'not-a-configured-token-123',
    createSocket: (url) => {
      urls.push(url);
      return new WebSocket(url);
    },
    onEvent: () => undefined,
  });
  client.start();
  await until(() => client.state === 'stopped', 'the client to stop');
  expect(urls).toEqual([]);
});
