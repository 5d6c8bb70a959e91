/**
 * Retention in src/database (deliveries.ts, refusals.ts, outbox.ts): rows older than the cutoff are deleted, in
 * batches of at most `limit`, and younger ones kept. The database is shared with other test files, so the rows here
 * are dated in the 1980s and the cutoffs too: nothing of another test is that old.
 */
import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { deleteExpiredDeliveries } from '../../src/database/deliveries';
import { deleteEventsBefore } from '../../src/database/outbox';
import { deleteRefusalCountsBefore } from '../../src/database/refusals';
import { newOrganization, openOrm } from './database';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

const at = (date: string) => new Date(`${date}T12:00:00.000Z`);
const cutoff = at('1985-01-01');
const failedCutoff = at('1983-01-01');

/** Deletes batch after batch of at most `limit` rows, as the retention activity does; the count of each batch. */
async function inBatches(deleteBatch: () => Promise<number>, limit: number): Promise<number[]> {
  const batches: number[] = [];
  for (;;) {
    const count = await deleteBatch();
    batches.push(count);
    if (count < limit) return batches;
  }
}

describe('deleteExpiredDeliveries', () => {
  const rows = new Map<string, string>();

  beforeAll(async () => {
    const seed: [string, string, string, string?][] = [
      // name, outcome, received_at, updated_at (received_at unless given)
      ['old processed', 'processed', '1984-06-01'],
      ['old rejected', 'rejected', '1984-06-01'],
      ['old replayed', 'replayed', '1984-06-01'],
      ['old processed 2', 'processed', '1980-01-01'],
      ['old processed 3', 'processed', '1980-01-02'],
      ['old processing', 'processing', '1980-01-01'],
      ['old unprocessed', 'unprocessed', '1980-01-01'],
      ['failed long ago', 'failed', '1982-01-01'],
      ['failed lately', 'failed', '1984-06-01'],
      ['old, replayed after the cutoff', 'replayed', '1984-06-01', '1985-06-01'],
      ['young processed', 'processed', '1985-06-01'],
    ];
    for (const [name, outcome, receivedAt, updatedAt] of seed) {
      const id = randomUUID();
      rows.set(name, id);
      await orm.em.fork().execute(
        `insert into webhook_deliveries (id, received_at, event_type, dedup_key, signature, outcome, updated_at)
         values (?, ?, 'invitee.created', ?, 'valid', ?, ?)`,
        [id, at(receivedAt), `retention-${id}`, outcome, at(updatedAt ?? receivedAt)],
      );
    }
  });
  afterAll(() => orm.em.fork().execute(`delete from webhook_deliveries where id in (${[...rows.values()].map(() => '?').join(', ')})`, [...rows.values()]));

  it('deletes processed, rejected and replayed rows older than the cutoff, failed ones older than theirs, in batches', async () => {
    const batches = await inBatches(() => deleteExpiredDeliveries(orm.em.fork(), { before: cutoff, failedBefore: failedCutoff }, 2), 2);
    expect(batches).toEqual([2, 2, 2, 0]);

    const left = await orm.em
      .fork()
      .execute<{ id: string }[]>(`select id from webhook_deliveries where id in (${[...rows.values()].map(() => '?').join(', ')})`, [...rows.values()]);
    const names = [...rows].filter(([, id]) => left.some((row) => row.id === id)).map(([name]) => name);
    // Never a delivery still processing, nor one kept for replay; a failed one only after its longer retention; a row
    // changed after the cutoff is kept for the whole retention after that change.
    expect(names.sort()).toEqual(['failed lately', 'old processing', 'old unprocessed', 'old, replayed after the cutoff', 'young processed']);
  });
});

describe('deleteRefusalCountsBefore', () => {
  const reason = `retention_test_${randomUUID()}`;
  afterAll(() => orm.em.fork().execute('delete from refused_requests where reason = ?', [reason]));

  it('deletes the counts of minutes before the cutoff, in batches', async () => {
    const minutes = ['1984-12-31T23:57:00Z', '1984-12-31T23:58:00Z', '1984-12-31T23:59:00Z', '1985-01-01T00:00:00Z', '1985-01-01T00:01:00Z'];
    for (const minute of minutes) {
      await orm.em.fork().execute('insert into refused_requests (minute, reason, count) values (?, ?, 3)', [new Date(minute), reason]);
    }
    const before = new Date('1985-01-01T00:00:00Z');
    expect(await inBatches(() => deleteRefusalCountsBefore(orm.em.fork(), before, 2), 2)).toEqual([2, 1]);
    const left = await orm.em.fork().execute<{ minute: Date }[]>('select minute from refused_requests where reason = ? order by minute', [reason]);
    expect(left.map(({ minute }) => new Date(minute).toISOString())).toEqual(['1985-01-01T00:00:00.000Z', '1985-01-01T00:01:00.000Z']);
  });
});

describe('deleteEventsBefore', () => {
  const organization = newOrganization();
  afterAll(() => orm.em.fork().execute('delete from outbox_events where organization = ?', [organization]));

  const insertEvent = async (createdAt: Date | null) => {
    const [row] = await orm.em
      .fork()
      .execute<{ id: string }[]>(
        `insert into outbox_events (type, organization, payload, created_at) values ('lead.created', ?, '{}', coalesce(?, now())) returning id`,
        [organization, createdAt],
      );
    return row.id;
  };
  const left = async () =>
    (await orm.em.fork().execute<{ id: string }[]>('select id from outbox_events where organization = ? order by id', [organization])).map(({ id }) => id);

  it('deletes the events created before the cutoff, oldest first, in batches', async () => {
    const old = [await insertEvent(at('1980-01-01')), await insertEvent(at('1981-01-01')), await insertEvent(at('1984-12-31'))];
    const young = [await insertEvent(at('1985-01-02')), await insertEvent(null)];
    expect(await inBatches(() => deleteEventsBefore(orm.em.fork(), cutoff, 2), 2)).toEqual([2, 1]);
    expect(await left()).toEqual(young);
    expect(old).toHaveLength(3);
  });

  it('always keeps the newest event, however old, so that broadcasters still find the newest id', async () => {
    const before = await left();
    const newest = await insertEvent(at('1980-01-01'));
    expect(await deleteEventsBefore(orm.em.fork(), cutoff, 1000)).toBe(0);
    expect(await left()).toEqual([...before, newest]);
  });
});
