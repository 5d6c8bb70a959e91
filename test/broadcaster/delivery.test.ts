/**
 * What clients receive from the outbox: only committed events, in id order even when transactions commit out of
 * order, from every receiver instance, and after the broadcaster's own database connection was lost.
 */
import { recordEvent } from '../../src/database/outbox';
import { commitEvent, openEventStream, startSecondBroadcaster } from '../support/event-stream';
import { API_TOKEN, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem({ proxyDatabase: true });
});
afterAll(() => system.stop());

const open = () => openEventStream(system.websocketUrl, { token: API_TOKEN });

/** Starts a transaction that records one event and stays open until `end` is called. */
async function openTransaction(): Promise<{ id: string; end(outcome: 'commit' | 'rollback'): Promise<void> }> {
  let recorded!: (id: string) => void;
  let finish!: (outcome: 'commit' | 'rollback') => void;
  const id = new Promise<string>((resolve) => (recorded = resolve));
  const outcome = new Promise<'commit' | 'rollback'>((resolve) => (finish = resolve));
  const transaction = system.orm.em.fork().transactional(async (em) => {
    recorded(await recordEvent(em, { type: 'lead.created', organization: null, payload: {} }));
    if ((await outcome) === 'rollback') throw new Error('rolled back on purpose');
  });
  return {
    id: await id,
    async end(how) {
      finish(how);
      await (how === 'commit' ? transaction : expect(transaction).rejects.toThrow('rolled back on purpose'));
    },
  };
}

it('never announces an event whose transaction rolls back, and still delivers the ones after it', async () => {
  const stream = await open();
  const rolledBack = await openTransaction();
  const committed = await commitEvent(system.orm);
  await rolledBack.end('rollback');
  await stream.waitForEvent(committed);
  expect(stream.ids()).toEqual([committed]);
  expect(BigInt(committed)).toBeGreaterThan(BigInt(rolledBack.id));
  await stream.close();
});

it('delivers events in id order when their transactions commit out of order', async () => {
  const stream = await open();
  const first = await openTransaction();
  const second = await commitEvent(system.orm);
  // "Not sent" cannot be awaited: the broadcaster gets ample time to send the second event too early.
  await expect(stream.waitForEvent(second, 1_000)).rejects.toThrow('did not arrive');
  await first.end('commit');
  await stream.waitForEvent(second);
  expect(stream.ids()).toEqual([first.id, second]);
  await stream.close();
});

it('delivers every event from every receiver instance, in the same order', async () => {
  const second = await startSecondBroadcaster(system);
  const secondUrl = second.websocketUrl;
  try {
    const streams = [await open(), await openEventStream(secondUrl, { token: API_TOKEN })];
    const ids = await Promise.all(Array.from({ length: 10 }, () => commitEvent(system.orm)));
    const newest = ids.reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b));
    await Promise.all(streams.map((stream) => stream.waitForEvent(newest)));
    const inIdOrder = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    for (const stream of streams) expect(stream.ids()).toEqual(inIdOrder);
    await Promise.all(streams.map((stream) => stream.close()));
  } finally {
    await second.stop();
  }
});

it('re-establishes its LISTEN connection after it drops and delivers what was committed meanwhile', async () => {
  const stream = await open();
  system.databaseProxy!.cut();
  const duringOutage = await commitEvent(system.orm);
  // Long enough for a few refused reconnection attempts.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  system.databaseProxy!.restore();
  await stream.waitForEvent(duringOutage, 20_000);
  const afterOutage = await commitEvent(system.orm);
  await stream.waitForEvent(afterOutage);
  expect(stream.ids()).toEqual([duringOutage, afterOutage]);
  await stream.close();
});

it('pushes a booking made through the pipeline as meeting.created', async () => {
  await system.subscribeReceiver();
  const stream = await open();
  const { invitee } = await system.fake.bookMeeting({ email: `pushed-${Date.now()}@example.com`, startTime: '2032-03-01T10:00:00Z' });
  const created = await stream.waitFor((event) => event.type === 'meeting.created', 'meeting.created', 30_000);
  expect(created).toMatchObject({ data: { meeting: { inviteeUri: invitee.uri, status: 'active' } } });
  await stream.close();
});
