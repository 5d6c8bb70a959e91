/**
 * Calendly's cursor pagination: opaque `page_token`s, `count` 1..100 (default 20), and `next_page` /
 * `previous_page` as full URLs that repeat the query with `count` and `page_token`.
 */
import { randomBytes } from 'node:crypto';
import type { Pagination } from '../src/calendly/schemas';
import { QueryReader } from './query';

const DEFAULT_COUNT = 20;
const MAX_COUNT = 100;

interface PagePosition {
  offset: number;
  /** The path and filters the token was issued for; it is not valid for another listing. */
  listing: string;
}

export interface Page<T> {
  collection: T[];
  pagination: Pagination;
}

function listingOf(path: string, query: URLSearchParams): string {
  const filters = [...query].filter(([name]) => name !== 'count' && name !== 'page_token');
  filters.sort(([a], [b]) => a.localeCompare(b));
  return `${path}?${new URLSearchParams(filters).toString()}`;
}

export class Paginator {
  private readonly positions = new Map<string, PagePosition>();

  constructor(private readonly baseUrl: string) {}

  /** `items` must already be filtered and sorted for this request. */
  page<T>(items: readonly T[], path: string, query: URLSearchParams): Page<T> {
    const reader = new QueryReader(query);
    const count = this.countOf(reader);
    const listing = listingOf(path, query);
    const offset = this.offsetOf(reader, listing);
    reader.check();

    const collection = items.slice(offset, offset + count);
    const nextOffset = offset + count < items.length ? offset + count : undefined;
    const previousOffset = offset > 0 ? Math.max(0, offset - count) : undefined;
    const nextToken = nextOffset === undefined ? null : this.issue(nextOffset, listing);
    const previousToken = previousOffset === undefined ? null : this.issue(previousOffset, listing);
    return {
      collection,
      pagination: {
        count: collection.length,
        next_page: nextToken === null ? null : this.pageUrl(path, query, count, nextToken),
        previous_page: previousToken === null ? null : this.pageUrl(path, query, count, previousToken),
        next_page_token: nextToken,
        previous_page_token: previousToken,
      },
    };
  }

  private countOf(reader: QueryReader): number {
    const value = reader.optional('count');
    if (value === undefined) return DEFAULT_COUNT;
    const count = Number(value);
    if (/^\d+$/.test(value) && count >= 1 && count <= MAX_COUNT) return count;
    reader.problem('count', `must be an integer between 1 and ${MAX_COUNT}`);
    return DEFAULT_COUNT;
  }

  private offsetOf(reader: QueryReader, listing: string): number {
    const token = reader.optional('page_token');
    if (token === undefined) return 0;
    const position = this.positions.get(token);
    if (position?.listing === listing) return position.offset;
    reader.problem('page_token', 'is invalid');
    return 0;
  }

  private issue(offset: number, listing: string): string {
    const token = randomBytes(24).toString('base64url');
    this.positions.set(token, { offset, listing });
    return token;
  }

  private pageUrl(path: string, query: URLSearchParams, count: number, token: string): string {
    const params = new URLSearchParams({ count: String(count) });
    for (const [name, value] of query) if (name !== 'count' && name !== 'page_token') params.append(name, value);
    params.append('page_token', token);
    return `${this.baseUrl}${path}?${params.toString()}`;
  }
}
