/** The server pings every WEBSOCKET_PING_INTERVAL_SECONDS and drops a client that stopped answering. */
import { commitEvent, openEventStream } from '../support/event-stream';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ env: { WEBSOCKET_PING_INTERVAL_SECONDS: '1' } });
});
afterAll(() => system.stop());

it('drops a client that does not answer pings and keeps one that does', async () => {
  const healthy = await openEventStream(system.websocketUrl, { token: API_TOKEN });
  let pings = 0;
  healthy.socket.on('ping', () => (pings += 1));
  const dead = await openEventStream(system.websocketUrl, { token: API_TOKEN, socket: { autoPong: false } });

  const dropped = await dead.closedByServer(5_000);
  // Terminated without a closing handshake: the client sees an abnormal closure.
  expect(dropped.code).toBe(1006);

  expect(pings).toBeGreaterThanOrEqual(1);
  const id = await commitEvent(system.orm);
  await healthy.waitForEvent(id);
  await healthy.close();
});
