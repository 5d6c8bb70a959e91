/**
 * Typed rows of raw SQL. The project writes its SQL by hand (see ARCHITECTURE.md); what a query's rows hold is stated
 * here once per shape, as the fields of the domain object and how each column is read (the column is the field's
 * name in snake_case), instead of casts at each use. A column that does not hold what its shape says is a bug
 * between the SQL and the shape: it throws, naming the column only (never its value, which may be personal data).
 */
import type { EntityManager } from '@mikro-orm/postgresql';

/** Reads one column's value. */
export type Column<T> = (value: unknown, column: string) => T;

const wrong = (column: string, wanted: string, value: unknown): never => {
  throw new TypeError(`Column ${column} holds ${value === null ? 'null' : typeof value}, not ${wanted}`);
};

export const text: Column<string> = (value, column) => (typeof value === 'string' ? value : wrong(column, 'text', value));
export const boolean: Column<boolean> = (value, column) => (typeof value === 'boolean' ? value : wrong(column, 'a boolean', value));
/** An integer; PostgreSQL's bigint (`count(*)`) arrives as text. */
export const integer: Column<number> = (value, column) => {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return wrong(column, 'an integer', value);
};
/** A bigint id, as text: the driver gives a bigint as text, a number only for smaller integers. */
export const bigintText: Column<string> = (value, column) =>
  typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)) ? String(value) : wrong(column, 'a bigint', value);
/** A text[]. */
export const textArray: Column<string[]> = (value, column) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : wrong(column, 'a text array', value);
/** A timestamp: the driver gives a Date, or text where the query made one. */
export const timestamp: Column<Date> = (value, column) => {
  if (value instanceof Date) return value;
  const date = typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : wrong(column, 'a timestamp', value);
};
/** A jsonb object. */
export const jsonObject: Column<Record<string, unknown>> = (value, column) =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : wrong(column, 'a JSON object', value);
/** Text that is one of `values` (a check constraint's). */
export const oneOf =
  <const Values extends readonly string[]>(values: Values): Column<Values[number]> =>
  (value, column) =>
    typeof value === 'string' && values.includes(value) ? value : wrong(column, `one of ${values.join(', ')}`, value);
/** The column, or null. */
export const nullable =
  <T>(read: Column<T>): Column<T | null> =>
  (value, column) =>
    value === null || value === undefined ? null : read(value, column);

type Fields = Record<string, Column<unknown>>;
export type RowOf<Spec extends Fields> = { [Field in keyof Spec]: ReturnType<Spec[Field]> };

/** The shape of a query's rows: `columns` is the select list, `read` maps one row. */
export interface RowShape<Row> {
  /** the columns, comma-separated, for `select ${shape.columns}` or `returning ${shape.columns}` */
  readonly columns: string;
  /** the columns of the table named `alias` in the query (`t.id, t.created_at`), where another table has the same */
  columnsOf(alias: string): string;
  read(row: Record<string, unknown>): Row;
}

const snakeCase = (field: string) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A row shape from its fields, each read from the column of its name in snake_case. */
export function rowShape<const Spec extends Fields>(fields: Spec): RowShape<RowOf<Spec>> {
  const columns = Object.entries(fields).map(([field, read]) => ({ field, column: snakeCase(field), read }));
  return {
    columns: columns.map(({ column }) => column).join(', '),
    columnsOf: (alias) => columns.map(({ column }) => `${alias}.${column}`).join(', '),
    read: (row) => Object.fromEntries(columns.map(({ field, column, read }) => [field, read(row[column], column)])) as RowOf<Spec>,
  };
}

/** The rows of a query, each read by `shape`. */
export async function queryRows<Row>(em: EntityManager, shape: RowShape<Row>, sql: string, params: readonly unknown[] = []): Promise<Row[]> {
  const rows = await em.execute<Record<string, unknown>[]>(sql, [...params]);
  return rows.map((row) => shape.read(row));
}

/** The first row of a query read by `shape`, or undefined when it has none. */
export async function queryRow<Row>(em: EntityManager, shape: RowShape<Row>, sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
  const [row] = await queryRows(em, shape, sql, params);
  return row;
}
