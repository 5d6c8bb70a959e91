/**
 * No tenant can take every connection: websockets are capped per API token, per organization and per receiver
 * (429 with Retry-After, counted by organization), and the receiver keeps connections for Calendly's deliveries
 * however many websockets and slow clients there are.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { register } from 'prom-client';
import WebSocket from 'ws';
import { commitEvent, openEventStream, refusedUpgrade, type EventStream } from '../support/event-stream';
import { API_TOKEN, eventually, SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';

const ORG_A = 'https://api.calendly.com/organizations/CAPS-A';
const ORG_B = 'https://api.calendly.com/organizations/CAPS-B';
const TOKEN_A1 = 'caps-a-first-token-0123456789';
const TOKEN_A2 = 'caps-a-second-token-012345678';
const TOKEN_B = 'caps-b-token-0123456789abcdef';
const MAX_PER_TOKEN = 2;
const MAX_PER_ORGANIZATION = 3;
const MAX_WEBSOCKETS = 6;
const MAX_CONNECTIONS = 10;

let system: TestSystem;
const streams: EventStream[] = [];
const slowClients: Socket[] = [];

beforeAll(async () => {
  system = await startTestSystem({
    env: {
      API_TOKENS: `${API_TOKEN},${TOKEN_A1}:${ORG_A},${TOKEN_A2}:${ORG_A},${TOKEN_B}:${ORG_B}`,
      WEBSOCKET_MAX_PER_TOKEN: String(MAX_PER_TOKEN),
      WEBSOCKET_MAX_PER_ORGANIZATION: String(MAX_PER_ORGANIZATION),
      WEBSOCKET_MAX_CONNECTIONS: String(MAX_WEBSOCKETS),
      HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    },
  });
});
afterAll(async () => {
  for (const socket of slowClients) socket.destroy();
  await Promise.all(streams.map((stream) => stream.close()));
  await system?.stop();
});

async function open(token: string): Promise<EventStream> {
  const stream = await openEventStream(system.websocketUrl, { token });
  streams.push(stream);
  return stream;
}

async function refusals(limit: string, organization: string): Promise<number> {
  const metric = await register.getSingleMetric('calendly_websocket_refusals_total')?.get();
  return metric?.values.find((value) => value.labels.limit === limit && value.labels.organization === organization)?.value ?? 0;
}

it("refuses a token's and an organization's websocket over their caps with 429 and Retry-After; another organization is unaffected", async () => {
  const tokenRefusalsBefore = await refusals('token', ORG_A);
  const organizationRefusalsBefore = await refusals('organization', ORG_A);
  const first = await open(TOKEN_A1);
  await open(TOKEN_A1);
  const overToken = await refusedUpgrade(system.websocketUrl, { token: TOKEN_A1 });
  expect(overToken).toMatchObject({ status: 429, body: { code: 'too_many_websockets_for_token' }, headers: { 'retry-after': '30' } });

  // The organization's other token may open what is left of the organization's share, and no more.
  await open(TOKEN_A2);
  const overOrganization = await refusedUpgrade(system.websocketUrl, { token: TOKEN_A2 });
  expect(overOrganization).toMatchObject({ status: 429, body: { code: 'too_many_websockets_for_organization' }, headers: { 'retry-after': '30' } });

  // Organization B opens its own, and receives its events, while A is at its cap.
  const b = [await open(TOKEN_B), await open(TOKEN_B)];
  const event = await commitEvent(system.orm, { organization: ORG_B });
  for (const stream of b) await stream.waitForEvent(event);

  expect(await refusals('token', ORG_A)).toBe(tokenRefusalsBefore + 1);
  expect(await refusals('organization', ORG_A)).toBe(organizationRefusalsBefore + 1);
  expect(await refusals('token', ORG_B)).toBe(0);

  // A websocket that closes gives its place back.
  await first.close();
  streams.splice(streams.indexOf(first), 1);
  await eventually(async () => {
    const again = await openEventStream(system.websocketUrl, { token: TOKEN_A1 }).catch(() => undefined);
    if (again) streams.push(again);
    return again;
  }, 10_000, 'a place for token A1 again');
});

it("keeps connections for Calendly's deliveries when websockets are at the receiver's cap and slow clients take the rest", async () => {
  // Open so far: A1 x2, A2 x1, B x2; a token of every organization takes the last websocket place.
  await open(API_TOKEN);
  expect(streams).toHaveLength(MAX_WEBSOCKETS);
  expect(await refusedUpgrade(system.websocketUrl, { token: API_TOKEN })).toMatchObject({ status: 429, body: { code: 'too_many_websockets' } });

  // More slow clients than there are connections left: each sends half a request head and stalls.
  for (let index = 0; index < MAX_CONNECTIONS * 2; index++) {
    const socket = connect(Number(new URL(system.receiverUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.on('error', () => undefined);
    socket.write('GET /api/leads HTTP/1.1\r\nHost: receiver\r\n');
    slowClients.push(socket);
  }

  const { invitee } = await system.fake.bookMeeting(
    { email: `caps-${Date.now()}@example.com`, name: 'Caps Test', startTime: new Date(Date.now() + 86_400_000).toISOString() },
    { deliver: false },
  );
  const delivery = await system.deliver(system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY).body);
  expect(delivery.status).toBe(202);

  // The slow clients were evicted to make room; every websocket is still open.
  const evicted = () => slowClients.filter((socket) => socket.destroyed || socket.readableEnded).length;
  await eventually(() => Promise.resolve(evicted() >= MAX_CONNECTIONS ? true : undefined), 10_000, 'slow clients evicted');
  expect(streams.map((stream) => stream.socket.readyState)).toEqual(streams.map(() => WebSocket.OPEN));
});
