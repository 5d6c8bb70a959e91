/**
 * The outbox feed while many transactions overlap and commit out of order, as under a burst of bookings: every
 * committed event reaches the feed's subscribers, once and in id order. A hole in the ids was once taken as final
 * while the transaction holding it still ran (its events were then never sent to any websocket client).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MikroORM } from '@mikro-orm/postgresql';
import { OutboxFeed } from '../../src/broadcaster/outbox-feed';
import { OutboxListener } from '../../src/broadcaster/outbox-listener';
import { ormConfig } from '../../src/database/orm-config';
import { recordEvent } from '../../src/database/outbox';
import { createLogger } from '../../src/logger';
import { harness } from '../support/harness';
import { eventually } from '../support/system';

const TRANSACTIONS = 400;

let orm: MikroORM;
beforeAll(async () => {
  orm = await MikroORM.init({ ...ormConfig(harness().databaseUrl), pool: { min: 0, max: 20 } });
});
afterAll(() => orm.close());

it('delivers every event of many overlapping transactions, each once and in id order', async () => {
  const organization = `https://api.calendly.com/organizations/${randomUUID()}`;
  const logger = createLogger('warn', 'test');
  const listener = new OutboxListener({ databaseUrl: harness().databaseUrl, logger, onWake: () => feed.wake() });
  const feed = new OutboxFeed((sql, params) => listener.query(sql, params), logger);
  listener.start();
  try {
    await feed.ready;
    const received: bigint[] = [];
    feed.subscribe((event) => event.organization === organization && received.push(event.id));

    // Like a booking's transaction: it writes first (which gives it its transaction id), then records two events,
    // taking its time between the steps while others start and commit.
    const recorded: string[] = [];
    const booking = () =>
      orm.em.fork().transactional(async (em) => {
        await em.execute('select pg_current_xact_id()');
        await sleep(Math.random() * 20);
        for (const type of ['lead.created', 'meeting.created'] as const) {
          recorded.push(await recordEvent(em, { type, organization, payload: {} }));
          await sleep(Math.random() * 20);
        }
      });
    const bookings: Promise<void>[] = [];
    for (let index = 0; index < TRANSACTIONS; index++) {
      bookings.push(booking());
      if (index % 20 === 0) await sleep(5);
    }
    await Promise.all(bookings);

    // A lost event never comes: the comparison below then says which.
    await eventually(() => Promise.resolve(received.length >= recorded.length ? true : undefined), 15_000).catch(() => undefined);
    expect(received.map(String).sort()).toEqual([...recorded].sort());
    expect(received).toEqual([...received].sort((a, b) => (a < b ? -1 : 1)));
  } finally {
    feed.stop();
    await listener.stop();
  }
});
