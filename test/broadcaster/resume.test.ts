/** A client that reconnects with ?lastEventId= gets every event it missed, then live ones: no gap, no duplicate. */
import { recordEvent } from '../../src/database/outbox';
import { commitEvent, openEventStream } from '../support/event-stream';
import { API_TOKEN, eventually, startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

const open = (lastEventId?: string) => openEventStream(system.websocketUrl, { token: API_TOKEN, lastEventId });

it('sends what was missed while disconnected, then live events', async () => {
  const first = await open();
  const seen = [await commitEvent(system.orm), await commitEvent(system.orm)];
  await first.waitForEvent(seen[1]);
  await first.close();

  const missed = [await commitEvent(system.orm), await commitEvent(system.orm), await commitEvent(system.orm)];
  const resumed = await open(seen[1]);
  expect(resumed.welcome.lastEventId).toBe(seen[1]);
  await resumed.waitForEvent(missed[2]);
  const live = await commitEvent(system.orm);
  await resumed.waitForEvent(live);
  expect(resumed.ids()).toEqual([...missed, live]);
  await resumed.close();
});

it('neither loses nor repeats an event committed while the missed ones are being read', async () => {
  const lastSeen = await commitEvent(system.orm);
  const missed = [await commitEvent(system.orm), await commitEvent(system.orm)];
  let duringBacklog!: string;
  let resumed!: Awaited<ReturnType<typeof open>>;

  // The lock holds the resuming client's read of the outbox until an event has been committed behind it.
  await system.orm.em.fork().transactional(async (em) => {
    await em.execute('lock table outbox_events in access exclusive mode');
    resumed = await open(lastSeen);
    await eventually(
      async () => {
        const waiting = await system.orm.em.fork().execute<{ count: string }[]>(
          `select count(*) from pg_stat_activity
           where wait_event_type = 'Lock' and query like '%from outbox_events%' and application_name like '%broadcaster%'`,
        );
        return Number(waiting[0].count) > 0 ? true : undefined;
      },
      10_000,
      'the backlog read to wait for the lock',
    );
    duringBacklog = await recordEvent(em, { type: 'meeting.created', organization: null, payload: {} });
  });

  await resumed.waitForEvent(duringBacklog);
  const live = await commitEvent(system.orm);
  await resumed.waitForEvent(live);
  expect(resumed.ids()).toEqual([...missed, duringBacklog, live]);
  await resumed.close();
});

it('sends a long backlog completely and in order', async () => {
  const start = await commitEvent(system.orm);
  const missed: string[] = [];
  // In a few transactions: a commit each would make the test time the database (a minute on a loaded machine).
  for (let batch = 0; batch < 12; batch += 1) {
    await system.orm.em.fork().transactional(async (em) => {
      for (let i = 0; i < 100; i += 1) missed.push(await recordEvent(em, { type: 'meeting.created', organization: null, payload: { i: batch * 100 + i } }));
    });
  }
  const resumed = await open(start);
  await resumed.waitForEvent(missed.at(-1)!);
  expect(resumed.ids()).toEqual(missed);
  await resumed.close();
});
