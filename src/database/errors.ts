/**
 * Database errors without personal data. A driver error's message can carry the query with its values inlined, and
 * PostgreSQL's detail names the values too (`Key (email_key)=(ada@example.com) already exists`); what leaves the
 * database layer for logs, Temporal history or the dashboard is only the SQLSTATE code, the constraint and the table.
 */

import { describeDatabaseError, isDatabaseError } from '../logger';

export { describeDatabaseError, isDatabaseError };

/** The SQLSTATE code of a database error, e.g. `23505`; undefined for anything else. */
function sqlStateOf(error: unknown): string | undefined {
  if (!isDatabaseError(error)) return undefined;
  return String(error.code ?? error.sqlState);
}

/** Data exceptions (class 22) and integrity constraint violations (23) fail again on every retry. */
export function isPermanentDataError(error: unknown): boolean {
  return /^2[23]/.test(sqlStateOf(error) ?? '');
}
