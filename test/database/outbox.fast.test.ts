/** src/database/outbox.ts: events are appended in order, and broadcasters hear of them on commit only. */
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, type Notification } from 'pg';
import { OutboxEventSchema } from '../../src/database/entities/outbox-event';
import { OUTBOX_CHANNEL, recordEvent } from '../../src/database/outbox';
import { harness } from '../support/harness';
import { newOrganization, openOrm } from './database';

let orm: MikroORM;
let listener: Client;
const notified: string[] = [];

beforeAll(async () => {
  orm = await openOrm();
  listener = new Client({ connectionString: harness().databaseUrl });
  await listener.connect();
  listener.on('notification', (notification: Notification) => {
    if (notification.channel === OUTBOX_CHANNEL) notified.push(notification.payload!);
  });
  await listener.query(`listen ${OUTBOX_CHANNEL}`);
});
afterAll(async () => {
  await listener.end();
  await orm.close();
});

/** Round trips on the listening connection, which hands over pending notifications, until `ids` were heard or 2 s passed. */
async function settle(ids: (string | undefined)[] = []): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    await listener.query('select 1');
    if (ids.every((id) => id && notified.includes(id))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('appends events with increasing ids, each for its organization, and notifies on commit', async () => {
  const organization = newOrganization();
  const [first, second] = await orm.em.fork().transactional(async (tx) => [
    await recordEvent(tx, { type: 'lead.created', organization, payload: { lead: { id: 'a' } } }),
    await recordEvent(tx, { type: 'meeting.created', organization, payload: { meeting: { id: 'b' } } }),
  ]);
  expect(BigInt(second)).toBeGreaterThan(BigInt(first));
  await settle([first, second]);
  expect(notified).toEqual(expect.arrayContaining([first, second]));

  const stored = await orm.em.fork().find(OutboxEventSchema, { organization }, { orderBy: { id: 'asc' } });
  expect(stored.map(({ id, type, payload }) => ({ id: String(id), type, payload }))).toEqual([
    { id: first, type: 'lead.created', payload: { lead: { id: 'a' } } },
    { id: second, type: 'meeting.created', payload: { meeting: { id: 'b' } } },
  ]);
  expect(await orm.em.fork().count(OutboxEventSchema, { organization: newOrganization() })).toBe(0);
});

it('neither keeps nor announces an event whose transaction rolls back', async () => {
  const organization = newOrganization();
  let id: string | undefined;
  await expect(
    orm.em.fork().transactional(async (tx) => {
      id = await recordEvent(tx, { type: 'lead.created', organization, payload: {} });
      throw new Error('the change failed');
    }),
  ).rejects.toThrow('the change failed');
  await settle([id]);
  expect(id).toBeDefined();
  expect(notified).not.toContain(id);
  expect(await orm.em.fork().count(OutboxEventSchema, { organization })).toBe(0);
});
