/**
 * Refused webhook requests, counted per minute and reason (`refused_requests`). The receiver counts them in memory
 * and adds its counts here every few seconds in one statement, so refused traffic costs no write per request.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueryResult } from '@mikro-orm/core';
import { integer, queryRows, rowShape, text, timestamp, type RowShape } from './rows';

export interface RefusalCount {
  /** the start of the minute, UTC */
  minute: Date;
  /** the answer's code, e.g. `signature_mismatch`, or `rate_limited` */
  reason: string;
  count: number;
}

const refusalCountRow: RowShape<RefusalCount> = rowShape({ minute: timestamp, reason: text, count: integer });

/** Adds the counts to their (minute, reason) rows: one upsert per minute and reason, all in one statement. */
export async function addRefusalCounts(em: EntityManager, counts: readonly RefusalCount[]): Promise<void> {
  if (counts.length === 0) return;
  await em.execute(
    `insert into refused_requests (minute, reason, count)
     values ${counts.map(() => '(?, ?, ?)').join(', ')}
     on conflict (minute, reason) do update set count = refused_requests.count + excluded.count`,
    counts.flatMap(({ minute, reason, count }) => [minute, reason, count]),
  );
}

/** The counts from `since` on, oldest minute first. */
export async function refusalCounts(em: EntityManager, since = new Date(0)): Promise<RefusalCount[]> {
  return queryRows(em, refusalCountRow, `select ${refusalCountRow.columns} from refused_requests where minute >= ? order by minute, reason`, [since]);
}

/** Retention: deletes at most `limit` counts of minutes before `before`, and says how many it deleted. */
export async function deleteRefusalCountsBefore(em: EntityManager, before: Date, limit: number): Promise<number> {
  const result = await em.execute<QueryResult>(
    `delete from refused_requests where (minute, reason) in
       (select minute, reason from refused_requests where minute < ? order by minute limit ?)`,
    [before, limit],
    'run',
  );
  return result.affectedRows;
}
