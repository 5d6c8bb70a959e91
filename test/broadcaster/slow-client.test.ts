/**
 * A client that does not read what it is sent is closed with 1013 once more than WEBSOCKET_MAX_BUFFERED_BYTES wait
 * for it, instead of being buffered without bound; it can then resume from the last event it received.
 */
import { commitEvent, openEventStream } from '../support/event-stream';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ env: { WEBSOCKET_MAX_BUFFERED_BYTES: String(256 * 1024) } });
});
afterAll(() => system.stop());

it('closes a client that stopped reading with 1013, and it resumes without a gap', async () => {
  const reader = await openEventStream(system.websocketUrl, { token: API_TOKEN });
  const stalled = await openEventStream(system.websocketUrl, { token: API_TOKEN });
  stalled.socket.pause();

  // Well beyond what the kernel's socket buffers on both ends can absorb before the server has to buffer.
  const blob = 'x'.repeat(512 * 1024);
  const ids: string[] = [];
  for (let i = 0; i < 96; i += 1) ids.push(await commitEvent(system.orm, { payload: { i, blob } }));
  await reader.waitForEvent(ids.at(-1)!, 30_000);
  expect(reader.ids()).toEqual(ids);

  stalled.socket.resume();
  const { code, reason } = await stalled.closedByServer(30_000);
  expect(code).toBe(1013);
  expect(reason).toContain('lastEventId');
  const received = stalled.ids();
  expect(received.length).toBeLessThan(ids.length);
  expect(received).toEqual(ids.slice(0, received.length));

  const resumed = await openEventStream(system.websocketUrl, { token: API_TOKEN, lastEventId: received.at(-1) ?? stalled.welcome.lastEventId });
  await resumed.waitForEvent(ids.at(-1)!, 30_000);
  expect([...received, ...resumed.ids()]).toEqual(ids);
  await Promise.all([reader.close(), resumed.close()]);
});
