/**
 * Turns the outbox into one stream of events in id order, with no id skipped while it may still commit.
 *
 * An id is taken when a row is inserted but the row becomes visible only when its transaction commits, so
 * transactions that overlap can make id 11 visible before id 10. The feed therefore keeps a horizon: every id up to
 * it is final (committed, or rolled back and never coming). It delivers rows that continue the horizon without a
 * hole at once. Rows beyond a hole wait until every transaction that was running when the hole was seen has
 * ended; then the hole is final too (rolled back) and they are delivered, still in id order.
 */
import type { Logger } from '../logger';
import { organizationLabel } from '../metrics';
import { outboxLagSeconds } from './metrics';
import { newestEventId, readEvents, type EventRange, type Query } from './outbox-rows';
import type { BroadcastEvent } from './protocol';

const PAGE_SIZE = 500;
/** How often a hole is checked while the feed waits for it; those transactions are usually milliseconds from ending. */
const HOLE_RECHECK_MS = 100;
/** A transaction open this long (e.g. a forgotten psql session) must not hold up every client: its ids are skipped. */
const HOLE_MAX_WAIT_MS = 30_000;
/** Reads even without notifications, so that a connection that died silently is noticed and re-established. */
const HEARTBEAT_MS = 30_000;

export type EventSink = (event: BroadcastEvent) => void;

interface Hole {
  /** the newest id seen beyond the hole */
  through: bigint;
  /** every transaction that could still commit an id up to `through` has a transaction id below this */
  bound: string;
  seenAt: number;
}

export class OutboxFeed {
  private horizon: bigint | undefined;
  private hole: Hole | undefined;
  private readonly sinks = new Set<EventSink>();
  private running = false;
  private wokenWhileRunning = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private isReady = false;
  private markReady!: () => void;
  /** Resolves once the horizon is known and final; clients start from it. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly query: Query,
    private readonly logger: Logger,
  ) {}

  /** There may be new rows: after a notification or a reconnection. Reads never overlap; a wake during one reads again. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wokenWhileRunning = true;
      return;
    }
    this.running = true;
    clearTimeout(this.timer);
    void this.run();
  }

  /** `sink` receives every event after the returned id, as it becomes final. Only once `ready`. */
  subscribe(sink: EventSink): { after: bigint; unsubscribe(): void } {
    if (!this.isReady) throw new Error('The outbox feed is not ready yet');
    this.sinks.add(sink);
    return { after: this.horizon!, unsubscribe: () => this.sinks.delete(sink) };
  }

  /** Events already delivered live, for clients that resume: only up to the horizon, which is final. */
  readDelivered(range: Omit<EventRange, 'through'> & { through: bigint }): Promise<BroadcastEvent[]> {
    return readEvents(this.query, range);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.sinks.clear();
  }

  private async run(): Promise<void> {
    let next: number | undefined;
    try {
      do {
        this.wokenWhileRunning = false;
        await this.advance();
      } while (this.wokenWhileRunning && !this.stopped);
      next = this.hole ? HOLE_RECHECK_MS : HEARTBEAT_MS;
    } catch (error) {
      // The connection is re-established and wakes the feed again.
      this.logger.warn({ err: error }, 'Could not read the outbox');
    } finally {
      this.running = false;
    }
    if (next !== undefined && !this.stopped) this.timer = setTimeout(() => this.wake(), next).unref();
  }

  private async advance(): Promise<void> {
    if (this.horizon === undefined) {
      // A new broadcaster starts at the newest event: older ones reach clients only when they resume from an id.
      const newest = await newestEventId(this.query);
      this.hole = { through: newest, bound: await this.runningTransactionsBound(), seenAt: Date.now() };
      this.horizon = newest;
    }
    if (this.hole && !(await this.closeHole(this.hole))) return;
    for (;;) {
      const events = await readEvents(this.query, { after: this.horizon, limit: PAGE_SIZE });
      const continuing = events.findIndex((event, index) => event.id !== this.horizon! + BigInt(index) + 1n);
      this.publish(continuing < 0 ? events : events.slice(0, continuing));
      if (continuing >= 0) {
        this.hole = { through: events.at(-1)!.id, bound: await this.runningTransactionsBound(), seenAt: Date.now() };
        return;
      }
      if (events.length < PAGE_SIZE) return;
    }
  }

  /** Delivers everything up to the hole's end once no transaction that could fill it is running. */
  private async closeHole(hole: Hole): Promise<boolean> {
    const [row] = await this.query<{ ended: boolean }>('select pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 as ended', [hole.bound]);
    if (!row.ended) {
      if (Date.now() - hole.seenAt < HOLE_MAX_WAIT_MS) return false;
      this.logger.warn({ after: this.horizon!.toString(), through: hole.through.toString() }, 'Gave up waiting for outbox ids held by a long transaction');
    }
    for (;;) {
      const events = await readEvents(this.query, { after: this.horizon!, through: hole.through, limit: PAGE_SIZE });
      this.publish(events);
      if (events.length < PAGE_SIZE) break;
    }
    this.horizon = hole.through;
    this.hole = undefined;
    this.isReady = true;
    this.markReady();
    return true;
  }

  /**
   * Taken after the rows were read, so that it covers every transaction that was running while they were: a
   * transaction id of its own, assigned after all of theirs. Not a snapshot's xmax: that is one past the newest
   * *completed* transaction, so a transaction that started later and still runs is above it, and the hole would be
   * taken as final while that transaction can still commit an id in it (its event was then never sent).
   */
  private async runningTransactionsBound(): Promise<string> {
    const [row] = await this.query<{ bound: string }>('select pg_current_xact_id()::text as bound');
    return row.bound;
  }

  private publish(events: BroadcastEvent[]): void {
    for (const event of events) {
      this.horizon = event.id;
      outboxLagSeconds.observe({ organization: organizationLabel(event.organization) }, Math.max(0, (Date.now() - event.createdAt.getTime()) / 1000));
      for (const sink of this.sinks) sink(event);
    }
  }
}
