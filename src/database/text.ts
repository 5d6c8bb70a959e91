/** Text PostgreSQL accepts: it refuses the NUL character in text and jsonb (and lone surrogates in jsonb). */

// eslint-disable-next-line no-control-regex -- NUL is exactly what PostgreSQL refuses
const REFUSED = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replaces what PostgreSQL would refuse with U+FFFD; anything that is not a string is returned as it is. */
export function pgText<T>(value: T): T {
  return (typeof value === 'string' ? value.replace(REFUSED, '\uFFFD') : value) as T;
}
